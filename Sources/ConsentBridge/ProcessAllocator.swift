#if canImport(Glibc)
    import Glibc
#endif

/// The allocator the process runs on, and handing freed memory back to the system.
///
/// The `consent-bridge` executable links Debian's jemalloc, which then serves every allocation
/// of the process (Swift, Foundation, librdkafka, SQLite). The bridge makes and frees several
/// dozen small blocks per event; under glibc's allocator those calls, with the free lists'
/// consolidation, were ~11% of the bridge's CPU, and jemalloc's thread caches take a part of
/// that off (docs/architecture.md, thirteenth round). Other binaries (the test runner) keep
/// the C library's allocator; both are looked up at run time, so this module links neither.
package enum ProcessAllocator {
    /// `jemalloc` and its version when the process runs on jemalloc, otherwise `libc` (reported
    /// beside the figures of `bench`: they depend on it).
    package static let name: String = {
        #if canImport(Glibc)
            guard let control = jemallocControl else { return "libc" }
            var version: UnsafePointer<CChar>? = nil
            var length = MemoryLayout<UnsafePointer<CChar>?>.size
            guard control("version", &version, &length, nil, 0) == 0, let version else { return "jemalloc" }
            // "5.3.0-0-g54eaed1…": the release is what tells runs apart.
            return "jemalloc " + (String(cString: version).split(separator: "-").first.map(String.init) ?? "")
        #else
            return "libc"
        #endif
    }()

    /// Returns freed heap memory to the system now.
    ///
    /// After a one-off burst of allocations (restoring a national consent view reads a million
    /// rows) both allocators keep the freed blocks for reuse: glibc until trimmed, jemalloc
    /// for its decay time (10 s). That is ~100 MB resident for nothing, and the view's memory
    /// target is read right after the restore.
    package static func releaseFreedMemory() {
        #if canImport(Glibc)
            if let control = jemallocControl {
                // `arena.<MALLCTL_ARENAS_ALL>.purge`: every arena's unused dirty pages.
                _ = control("arena.4096.purge", nil, nil, nil, 0)
                return
            }
            // glibc's `malloc_trim`, looked up at run time (Swift's Glibc module does not import it).
            typealias MallocTrim = @convention(c) (Int) -> Int32
            guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_trim") else { return }
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        #endif
    }

    #if canImport(Glibc)
        /// jemalloc's `mallctl(name, oldp, oldlenp, newp, newlen)`.
        private typealias Control =
            @convention(c) (
                UnsafePointer<CChar>, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?, UnsafeMutableRawPointer?,
                Int
            ) -> Int32

        /// `mallctl` when jemalloc is linked (or preloaded); nil under the C library's allocator.
        private static let jemallocControl: Control? = {
            // `dlopen(nil)`: the process's global scope (the executable and what it links).
            guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallctl") else { return nil }
            return unsafeBitCast(symbol, to: Control.self)
        }()
    #endif
}
