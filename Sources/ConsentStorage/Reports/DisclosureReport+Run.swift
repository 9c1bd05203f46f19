package import ConsentConfiguration
import Foundation
package import Logging

extension DisclosureReport {
    /// What `consent-bridge disclosures` prints.
    package enum Output: Sendable, Hashable {
        /// The rendered report (standard output, exit 0).
        case report(String)
        /// The patient is known but nothing was disclosed (standard output, exit 0).
        case noDisclosures(String)
        /// The journal has no records for this id (standard error, exit ≠ 0).
        case unknownPatient(String)
    }

    /// Opens the existing health journal at `healthStore` (never creates one), looks the
    /// patient up and renders the report. Messages never repeat the patient id.
    package static func run(
        patientID: String, format: Format, healthStore: StoreLocation, logger: Logger
    ) async throws(StorageError) -> Output {
        if case .sqlite(let path) = healthStore, !FileManager.default.fileExists(atPath: path) {
            throw StorageError(.connectionFailed, "no health journal store at \(healthStore)")
        }
        let store = try await HealthJournalStore.open(healthStore, logger: logger)
        let lookup: Lookup
        do {
            lookup = try await Self.lookup(patientID: patientID, in: store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        switch lookup {
        case .disclosures(let records):
            return .report(try Self.render(records, format: format))
        case .noDisclosures:
            return .noDisclosures(
                "No disclosures are recorded for this patient (the journal holds their consent history).")
        case .unknownPatient:
            return .unknownPatient(
                "The health journal has no records for this patient id: no consents and no disclosures.")
        }
    }
}
