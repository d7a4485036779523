# Stand-in of feeds/packages/lang/rust/rust-package.mk (see README.md)
RUST_ARCH_DEPENDS:=@(aarch64||arm||i386||i686||mips||mipsel||mips64||mips64el||mipsel||powerpc64||riscv64||x86_64)
define Build/Compile/Cargo
endef
