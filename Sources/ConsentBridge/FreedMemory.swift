#if canImport(Glibc)
    import Glibc
#endif

/// Hands memory the process has freed back to the system.
///
/// glibc keeps freed small blocks for reuse; after a one-off burst of allocations (restoring a
/// national consent view reads a million rows) that keeps ~100 MB resident for nothing.
/// `malloc_trim` is glibc's, looked up at run time (Swift's Glibc module does not import it);
/// elsewhere this does nothing.
package enum FreedMemory {
    /// Returns freed heap memory to the system (`malloc_trim(0)`); nothing where glibc is absent.
    package static func release() {
        #if canImport(Glibc)
            typealias MallocTrim = @convention(c) (Int) -> Int32
            guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "malloc_trim") else { return }
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        #endif
    }
}
