# Stand-in of feeds/luci/luci.mk (see README.md): what its Package/<app>/install does.
LUCI_NAME?=$(notdir ${CURDIR})
PKG_NAME?=$(LUCI_NAME)
include $(INCLUDE_DIR)/package.mk
define Package/$(PKG_NAME)/install
	if [ -d $(PKG_BUILD_DIR)/htdocs ]; then $(INSTALL_DIR) $(1)/www; cp -pR $(PKG_BUILD_DIR)/htdocs/* $(1)/www/; fi
	if [ -d $(PKG_BUILD_DIR)/root ]; then $(INSTALL_DIR) $(1)/; cp -pR $(PKG_BUILD_DIR)/root/* $(1)/; fi
endef
$(eval $(call BuildPackage,$(PKG_NAME)))
