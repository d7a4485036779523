# Stand-in of OpenWrt's rules.mk (see README.md)
INCLUDE_DIR:=$(TOPDIR)/include
INSTALL_BIN:=install -m0755
INSTALL_DIR:=install -d -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
CP:=cp -fpR
LN:=ln -sf
tolower=$(shell echo '$(1)' | tr 'A-Z' 'a-z')
