import Testing

@testable import ConsentPolicy

/// R16's test of whether a fødselsnummer found in a string is the subject's own: the digits
/// must be the subject's, all of them and nothing more, whatever separates them.
@Suite struct SubjectNumberTests {
    let subject = "17088940180"

    @Test func R16_theSubjectsOwnNumberIsNotAThirdParty() {
        #expect(PolicyEngine.isSubjectsNumber("17088940180"[...], subject: subject))
        #expect(PolicyEngine.isSubjectsNumber("170889 40180"[...], subject: subject))
        #expect(PolicyEngine.isSubjectsNumber("170889.40180"[...], subject: subject))
    }

    @Test func R16_anyOtherDigitsAreAThirdParty() {
        #expect(!PolicyEngine.isSubjectsNumber("17088940181"[...], subject: subject))
        #expect(!PolicyEngine.isSubjectsNumber("1708894018"[...], subject: subject), "a digit short")
        #expect(!PolicyEngine.isSubjectsNumber("170889401801"[...], subject: subject), "a digit more")
        #expect(!PolicyEngine.isSubjectsNumber(""[...], subject: subject))
    }

    @Test func R16_aNumericCharacterBeyondASCIICountsAsADigit() {
        // Not what the scanner finds today, but if it ever did: an Arabic-Indic three between
        // the groups is a numeric character, so the digits are not the subject's (fail closed).
        #expect(!PolicyEngine.isSubjectsNumber("170889\u{0663}40180"[...], subject: subject))
        #expect(PolicyEngine.isSubjectsNumber("170889\u{00A0}40180"[...], subject: subject), "a no-break space")
    }

    @Test func R16_theSubjectsDigitsInAnotherScriptAreStillTheSubjects() {
        // The scanner reads every decimal digit as its value, so the comparison does too.
        let fullwidth = String(
            String.UnicodeScalarView(subject.unicodeScalars.map { Unicode.Scalar($0.value + 0xFEE0)! }))
        #expect(PolicyEngine.isSubjectsNumber(fullwidth[...], subject: subject))
        #expect(PolicyEngine.isSubjectsNumber("1\u{200B}7\u{200B}0889-4\u{0660}180"[...], subject: subject))
        #expect(!PolicyEngine.isSubjectsNumber("1708894018\u{FF11}"[...], subject: subject), "a fullwidth 1, not 0")
        #expect(!PolicyEngine.isSubjectsNumber("170889\u{00BD}40180"[...], subject: subject), "½ is no digit")
    }
}
