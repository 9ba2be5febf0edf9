//go:build !plasmite_pkgconfig

package local

// Default linking: the static libplasmite.a in ../lib (filled by ../build-lib, or by
// `go generate ./...` from the module root), with the header from the repository's
// bindings/c/include. A program built this way needs no shared library at run time.
// Build with -tags plasmite_pkgconfig to use an installed SDK instead (link_pkgconfig.go).

//go:generate ../build-lib

// #cgo CFLAGS: -I${SRCDIR}/../../c/include
// #cgo LDFLAGS: ${SRCDIR}/../lib/libplasmite.a -lpthread -ldl -lm
import "C"
