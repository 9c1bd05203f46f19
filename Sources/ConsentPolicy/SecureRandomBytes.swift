import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Cryptographically secure random bytes from the kernel's generator (`getrandom`, through
/// `arc4random_buf`), drawn a few kilobytes at a time.
///
/// The bridge mints a random id per disclosure and a case reference per anonymous event. Glibc
/// 2.36 (Debian 12) implements `arc4random_buf` as one `getrandom` system call per call, and
/// `SystemRandomNumberGenerator` makes one per eight bytes: a system call or more per event on
/// the hot path (~0.7% of the bridge's samples). Here a system call serves 256 ids. The bytes
/// are the kernel's own output; each is handed out once and wiped from the pool as it is, so
/// the pool never holds what was already given out (a later read of the process's memory finds
/// no past id or reference in it).
package enum SecureRandomBytes {
    /// Bytes drawn per system call.
    static let poolSize = 4096

    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: SecureRandomBytes.poolSize)
        /// Where the unused bytes begin (`poolSize`: none left).
        var next = SecureRandomBytes.poolSize
    }

    private static let pool = Mutex(Pool())

    /// Fills `target` with random bytes.
    package static func fill(_ target: UnsafeMutableRawBufferPointer) {
        guard let destination = target.baseAddress, !target.isEmpty else { return }
        guard target.count <= poolSize / 4 else {
            drawFromKernel(target)
            return
        }
        pool.withLock { pool in
            if poolSize - pool.next < target.count {
                pool.bytes.withUnsafeMutableBytes { drawFromKernel($0) }
                pool.next = 0
            }
            pool.bytes.withUnsafeMutableBytes { bytes in
                let source = bytes.baseAddress! + pool.next
                destination.copyMemory(from: source, byteCount: target.count)
                source.initializeMemory(as: UInt8.self, repeating: 0, count: target.count)
            }
            pool.next += target.count
        }
    }

    /// Fills `target` from the C library's `arc4random_buf`: on glibc 2.36 one `getrandom`
    /// call for the whole buffer, blocking only until the kernel's generator is seeded (once, at
    /// boot); it stops the process rather than return predictable bytes.
    private static func drawFromKernel(_ target: UnsafeMutableRawBufferPointer) {
        arc4random_buf(target.baseAddress!, target.count)
    }
}
