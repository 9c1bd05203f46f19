#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// File access for the contract loader and linter (the only place that touches the disk).
package enum ContractFiles {
    /// The bytes of `path`, or nil when it cannot be read.
    package static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }
}
