/// What operators see of a rejected event's `ce_source`: a source of the deployment's own
/// systems (`operator.known-sources`) as written, any other as `unlisted-` and 8 hex digits of
/// a keyed digest of it.
///
/// A source is text the sender chose. The envelope check refuses national numbers and
/// addresses in it, but a name fits a URI (`urn:epj:Kari.Nordmann`), and the rejections API,
/// its page and the `rejections` command repeat what they are given (R16). The digest keeps
/// sources countable and comparable (the same source gives the same digest while the origin
/// side's sealing key stays) without repeating them, as unknown `ce_type`s are shown.
///
/// Applied when a rejection is shown, not when it is recorded: a redrive decides the event
/// again with the envelope it came with, and a rejection recorded before a source was listed
/// (or before this rule) is shown by the same rule.
package struct OperatorSafeSources: Sendable {
    private let known: Set<String>
    private let sealer: PayloadSealer?

    /// `known`: the sources shown as written. `sealer`: digests the others with the origin
    /// side's current key; without one (no bridge in this process) they are shown as
    /// `unlisted` alone.
    package init(known: [String], sealer: PayloadSealer?) {
        self.known = Set(known)
        self.sealer = sealer
    }

    /// `source` as an operator may see it, for an event that came from `origin`'s side.
    package func shown(_ source: String?, origin: BridgeSide) -> String? {
        guard let source, !source.isEmpty else { return nil }
        if known.contains(source) { return source }
        guard let sealer else { return "unlisted" }
        return "unlisted-" + sealer.digest(source, for: origin).prefix(8)
    }
}
