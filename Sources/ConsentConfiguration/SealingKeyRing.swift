/// One side's sealing keys: the current one seals, the previous one (during a rotation) still opens.
package struct SealingKeyRing: Sendable, Hashable, CustomStringConvertible {
    /// Seals new rejections.
    package var current: SealingKey
    /// Still opens rejections sealed before the last rotation.
    package var previous: SealingKey?

    /// A ring with the current key and, during a rotation, the previous one.
    package init(current: SealingKey, previous: SealingKey? = nil) {
        self.current = current
        self.previous = previous
    }

    /// The key with this id, for opening a sealed payload.
    package func key(id: String) -> SealingKey? {
        if current.id == id { return current }
        if let previous, previous.id == id { return previous }
        return nil
    }

    package var description: String {
        "current " + current.description + (previous.map { ", previous " + $0.description } ?? "")
    }
}
