/// Anything that can say what consent a patient currently has (the consent view, a test double).
package protocol ConsentLookup: Sendable {
    /// The consent state for `patientID` (a fødselsnummer); `.absent` when unknown.
    func state(for patientID: String) -> ConsentState
}
