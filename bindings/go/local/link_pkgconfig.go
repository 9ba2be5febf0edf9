//go:build plasmite_pkgconfig

package local

// With -tags plasmite_pkgconfig: header and library of an installed SDK found through
// pkg-config's `plasmite` module (plasmite.pc). The linker picks libplasmite.so when the SDK
// has it, else libplasmite.a; the system libraries a static link needs are added here since
// cgo does not ask pkg-config for its private ones.

// #cgo pkg-config: plasmite
// #cgo LDFLAGS: -Wl,--no-as-needed -lpthread -ldl -lm
import "C"
