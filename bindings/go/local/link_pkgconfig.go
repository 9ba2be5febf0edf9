//go:build plasmite_pkgconfig

package local

// With -tags plasmite_pkgconfig: header and library of an installed SDK found through
// pkg-config's `plasmite` module (plasmite.pc). Whether the shared or the static library is
// linked is the SDK's and the linker's choice (PKG_CONFIG="pkg-config --static" and a lib
// directory holding only libplasmite.a give a static link).

// #cgo pkg-config: plasmite
import "C"
