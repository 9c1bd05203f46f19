import ArgumentParser
import ConsentPolicy

/// The check of a `--patient` argument that reports and access reports share.
enum PatientArgument {
    /// Throws unless `patient` is a valid fødselsnummer or D-number; a synthetic test number
    /// only with `allowSynthetic`. The candidate is never echoed: it may be a mistyped real one.
    static func validate(_ patient: String, allowSynthetic: Bool) throws {
        if !allowSynthetic, NorwegianIdentifier.isValid(patient, allowSynthetic: true),
            !NorwegianIdentifier.isValid(patient, allowSynthetic: false)
        {
            throw ValidationError(
                "--patient is a synthetic test identity number; add --allow-synthetic-ids (test environments only)")
        }
        guard NorwegianIdentifier.isValid(patient, allowSynthetic: allowSynthetic) else {
            throw ValidationError(
                "--patient is not a valid fødselsnummer or D-number (11 digits with valid check digits)")
        }
    }
}
