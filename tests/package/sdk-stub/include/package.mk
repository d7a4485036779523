# Stand-in of OpenWrt's include/package.mk (see README.md)
.PHONY: sdk-prepare sdk-install
sdk-prepare:
	$(Build/Prepare)

define BuildPackage
sdk-install: sdk-install-$(1)
sdk-install-$(1):
	rm -rf $(SDK_OUT)/$(1)
	mkdir -p $(SDK_OUT)/$(1)
	$$(call Package/$(1)/install,$(SDK_OUT)/$(1))
endef
