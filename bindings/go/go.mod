module github.com/sandover/plasmite/bindings/go

// The oldest Go this module builds with (CI builds with it). Files needing newer Go carry a
// build constraint (iter.go: go1.23).
go 1.19
