#!/usr/bin/env python3
"""Generates src/system/oui_table.rs: the compact MAC-vendor table of the Clients tab.

Input: Debian's `ieee-data` package (/usr/share/ieee-data/oui.csv, the IEEE MA-L registry;
`apt-get install ieee-data`). The full registry is ~32,000 organisations (3 MB of CSV): far too
big for a router package and mostly useless to a home user ("Shenzhen ... Technology Co"). So
only the vendors a LAN user recognises are kept, each with an optional device-type hint, matched
by the regexes below on the registered organisation name. Every MA-L block of those vendors is
kept (Apple alone has ~1,000).

Output: two Rust constants, `VENDORS` (display name, type hint) and `BLOCKS` (u32 = OUI << 8 |
vendor index, sorted), looked up by binary search in src/system/oui.rs. Deterministic: the same
input always gives the same file. Run `make oui` (or this script) after updating ieee-data.

usage: scripts/mkoui.py [oui.csv] > src/system/oui_table.rs
"""
import csv
import re
import sys

# (display name, type hint or None, regex on the organisation name). First match wins.
VENDORS = [
    ("Apple", None, r"^Apple,? Inc"),
    ("Samsung", None, r"^Samsung Electronics|^SAMSUNG ELECTRO"),
    ("Google", None, r"^Google,? (Inc|LLC)"),
    ("Nest", "iot", r"^Nest Labs"),
    ("Amazon", None, r"^Amazon Technologies|^Amazon\.com"),
    ("Microsoft", None, r"^Microsoft"),
    ("Sony Interactive", "console", r"^Sony Interactive Entertainment|^Sony Computer Entertainment"),
    ("Sony", None, r"^Sony (Corporation|Mobile|Visual|Home Entertainment)"),
    ("Nintendo", "console", r"^Nintendo"),
    ("Valve", "console", r"^Valve Corporation"),
    ("Roku", "streaming", r"^Roku"),
    ("Sonos", "speaker", r"^Sonos"),
    ("Bose", "speaker", r"^Bose Corporation"),
    ("LG", "tv", r"^LG Electronics"),
    ("TCL", "tv", r"^TCL King|^Shenzhen TCL"),
    ("Hisense", "tv", r"^Hisense"),
    ("Vizio", "tv", r"^VIZIO"),
    ("Philips TV", "tv", r"^TP Vision"),
    ("Panasonic", None, r"^Panasonic"),
    ("Sharp", None, r"^Sharp Corporation|^SHARP Corporation"),
    ("Huawei", None, r"^HUAWEI TECHNOLOGIES|^Huawei Device"),
    ("Honor", "phone", r"^Honor Device"),
    ("Xiaomi", None, r"Xiaomi"),
    ("OnePlus", "phone", r"^OnePlus"),
    ("OPPO", "phone", r"^GUANGDONG OPPO"),
    ("vivo", "phone", r"^vivo Mobile"),
    ("Realme", "phone", r"^Realme"),
    ("Motorola", "phone", r"^Motorola Mobility"),
    ("Nokia", None, r"^Nokia"),
    ("HTC", "phone", r"^HTC Corporation"),
    ("Fairphone", "phone", r"^Fairphone"),
    ("Garmin", "wearable", r"^Garmin"),
    ("Fitbit", "wearable", r"^Fitbit"),
    ("Withings", "iot", r"^Withings"),
    ("Kobo", "ereader", r"^Rakuten Kobo|^Kobo Inc"),
    ("HP", None, r"^Hewlett[ -]Packard|^HP Inc"),
    ("Dell", None, r"^Dell"),
    ("Lenovo", None, r"^Lenovo|^LCFC"),
    ("ASUS", None, r"^ASUSTek"),
    ("Acer", None, r"^Acer "),
    ("MSI", None, r"^Micro-Star"),
    ("Intel", None, r"^Intel Corporate"),
    ("Framework", "laptop", r"^Framework Computer"),
    ("Canon", "printer", r"^Canon"),
    ("Epson", "printer", r"^Seiko Epson"),
    ("Brother", "printer", r"^Brother Industries"),
    ("Lexmark", "printer", r"^Lexmark"),
    ("Xerox", "printer", r"^Xerox"),
    ("Kyocera", "printer", r"^KYOCERA Document|^Kyocera Mita"),
    ("Ricoh", "printer", r"^Ricoh"),
    ("Raspberry Pi", "iot", r"^Raspberry Pi"),
    ("Espressif", "iot", r"^Espressif"),
    ("Tuya", "iot", r"Tuya"),
    ("Shelly", "iot", r"^Allterco Robotics|^Shelly"),
    ("Signify (Hue)", "iot", r"^Philips Lighting|^Signify"),
    ("Belkin", "iot", r"^Belkin"),
    ("iRobot", "iot", r"^iRobot"),
    ("ecobee", "iot", r"^ecobee"),
    ("Ring", "camera", r"^Ring LLC"),
    ("Arlo", "camera", r"^Arlo Technology"),
    ("Wyze", "camera", r"^Wyze"),
    ("Hikvision", "camera", r"Hikvision"),
    ("Dahua", "camera", r"Dahua"),
    ("Axis", "camera", r"^Axis Communications"),
    ("Reolink", "camera", r"Reolink"),
    ("EZVIZ", "camera", r"EZVIZ"),
    ("Synology", "nas", r"^Synology"),
    ("QNAP", "nas", r"^QNAP"),
    ("Western Digital", "nas", r"^Western Digital"),
    ("TP-Link", "router", r"^TP-LINK|^TP-Link"),
    ("Ubiquiti", "access_point", r"^Ubiquiti"),
    ("Netgear", "router", r"^NETGEAR|^Netgear"),
    ("AVM", "router", r"^AVM (Audiovisuelles|GmbH)"),
    ("MikroTik", "router", r"^Routerboard\.com|^MikroTik"),
    ("Cisco", "router", r"^Cisco Systems|^Cisco Meraki"),
    ("Aruba", "access_point", r"^Aruba"),
    ("Ruckus", "access_point", r"^Ruckus"),
    ("Zyxel", "router", r"^Zyxel|^ZyXEL"),
    ("D-Link", "router", r"^D-Link|^D-LINK"),
    ("Linksys", "router", r"^Linksys|^Belkin International.*Linksys"),
    ("GL.iNet", "router", r"^GL Technologies"),
    ("Teltonika", "router", r"^Teltonika"),
    ("Cambium", "access_point", r"^Cambium"),
    ("Netgear Arlo", "camera", r"^Arlo"),
    ("Yealink", "voip", r"^Yealink|^XIAMEN YEALINK"),
    ("Grandstream", "voip", r"^Grandstream"),
    ("Polycom", "voip", r"^Polycom"),
    ("Snom", "voip", r"^snom"),
    ("Tesla", None, r"^Tesla"),
    ("Nvidia", None, r"^NVIDIA"),
    ("Supermicro", "server", r"^Super Micro"),
    ("VMware", "vm", r"^VMware"),
    ("VirtualBox", "vm", r"^Cadmus Computer Systems|^Oracle.*VirtualBox"),
    ("Proxmox", "vm", r"^Proxmox"),
    ("Realtek", None, r"^Realtek"),
    ("MediaTek", None, r"^MediaTek"),
    ("Qualcomm", None, r"^Qualcomm"),
    ("Broadcom", None, r"^Broadcom"),
    ("AzureWave", None, r"^AzureWave"),
    ("Murata", None, r"^Murata"),
    ("Foxconn", None, r"^Hon Hai|^Foxconn"),
    ("Liteon", None, r"^Liteon|^LITE-ON"),
]

TYPES = {
    "phone", "tablet", "laptop", "desktop", "server", "tv", "streaming", "console", "printer",
    "camera", "speaker", "iot", "hub", "router", "access_point", "switch", "nas", "wearable",
    "voip", "ereader", "vm",
}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/ieee-data/oui.csv"
    pats = [(i, re.compile(rx, re.I)) for i, (_, _, rx) in enumerate(VENDORS)]
    for _, hint, _ in VENDORS:
        assert hint is None or hint in TYPES, hint
    blocks = {}
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.DictReader(f):
            if row.get("Registry") != "MA-L":
                continue
            org = (row.get("Organization Name") or "").strip()
            hexa = (row.get("Assignment") or "").strip().upper()
            if not re.fullmatch(r"[0-9A-F]{6}", hexa):
                continue
            for i, rx in pats:
                if rx.search(org):
                    blocks[int(hexa, 16)] = i
                    break
    used = sorted(set(blocks.values()))
    remap = {old: new for new, old in enumerate(used)}
    out = sys.stdout
    out.write("// @generated by scripts/mkoui.py from Debian's ieee-data (oui.csv, IEEE MA-L). Do not edit.\n")
    out.write(f"// {len(blocks)} blocks of {len(used)} vendors: {len(blocks) * 4} bytes of blocks.\n\n")
    out.write("/// (display name, device-type hint).\n")
    out.write("pub const VENDORS: &[(&str, Option<&str>)] = &[\n")
    for old in used:
        name, hint, _ = VENDORS[old]
        h = f'Some("{hint}")' if hint else "None"
        out.write(f'    ("{name}", {h}),\n')
    out.write("];\n\n")
    out.write("/// `OUI << 8 | vendor index`, sorted.\n")
    out.write("pub const BLOCKS: &[u32] = &[\n")
    items = sorted((oui << 8) | remap[v] for oui, v in blocks.items())
    for k in range(0, len(items), 8):
        out.write("    " + ", ".join(f"0x{x:08x}" for x in items[k:k + 8]) + ",\n")
    out.write("];\n")


if __name__ == "__main__":
    main()
