import Testing

@testable import ConsentPolicy

/// Identifier recognition underpins R2 (nothing identifying crosses in anonymous form) and the
/// "no fødselsnummer in logs or operator views" rule: what we cannot recognise we cannot keep out.
@Suite("Norwegian identifiers and the personal-data scanner")
struct NorwegianIdentifierTests {
    // MARK: Independent generator (written from Skatteetaten's algorithm, not from the code under test)

    /// Appends both mod-11 check digits to nine digits; nil when either would be 10.
    static func withCheckDigits(_ nine: String) -> String? {
        let d = nine.map { Int(String($0))! }
        let k1Weights = [3, 7, 6, 1, 8, 9, 4, 5, 2]
        var k1 = 11 - (zip(d, k1Weights).map(*).reduce(0, +) % 11)
        if k1 == 11 { k1 = 0 }
        if k1 == 10 { return nil }
        let k2Weights = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
        var k2 = 11 - (zip(d + [k1], k2Weights).map(*).reduce(0, +) % 11)
        if k2 == 11 { k2 = 0 }
        if k2 == 10 { return nil }
        return nine + String(k1) + String(k2)
    }

    /// The first valid number for a date prefix (DDMMYY), trying individual numbers from `start`.
    static func firstValid(_ datePart: String, individualFrom start: Int = 0) -> String? {
        for individual in start..<1000 {
            let nine = datePart + String(individual).leftPadded(to: 3)
            if let number = withCheckDigits(nine) { return number }
        }
        return nil
    }

    // MARK: Fødselsnummer / D-number

    @Test("R2: generated fødselsnumre with correct check digits are valid")
    func generatedFodselsnummerIsValid() throws {
        for datePart in ["010190", "311299", "150765", "280296", "010100"] {
            let number = try #require(Self.firstValid(datePart))
            #expect(NorwegianIdentifier.isValid(number, allowSynthetic: false), "\(datePart)")
            #expect(NorwegianIdentifier.parse(number, allowSynthetic: false)?.kind == .fodselsnummer)
        }
    }

    @Test("R2: a wrong first or second check digit is invalid")
    func wrongCheckDigitIsInvalid() throws {
        let number = try #require(Self.firstValid("150765"))
        var digits = Array(number)
        for position in [9, 10] {
            var mutated = digits
            let digit = Int(String(mutated[position]))!
            mutated[position] = Character(String((digit + 1) % 10))
            #expect(!NorwegianIdentifier.isValid(String(mutated), allowSynthetic: true))
        }
        // Swapping two date digits breaks the checksum too.
        digits.swapAt(0, 1)
        #expect(!NorwegianIdentifier.isValid(String(digits), allowSynthetic: true))
    }

    @Test("dates must exist: 31 April, 30 February and month 13 are invalid even with good check digits")
    func impossibleDatesAreInvalid() {
        for datePart in ["310490", "300290", "011390", "000190", "320190"] {
            for individual in 0..<200 {
                let nine = datePart + String(individual).leftPadded(to: 3)
                guard let number = Self.withCheckDigits(nine) else { continue }
                #expect(!NorwegianIdentifier.isValid(number, allowSynthetic: true), "\(datePart)")
            }
        }
    }

    @Test("29 February is valid only in leap years (century from the individual number)")
    func leapDay() throws {
        // 2000 is a leap year: individual 500–999 with YY 00–39 means 20YY.
        let leap2000 = try #require(Self.firstValid("290200", individualFrom: 500))
        #expect(NorwegianIdentifier.isValid(leap2000, allowSynthetic: false))
        // 1900 is not: individual 000–499 means 19YY.
        var found1900 = false
        for individual in 0..<500 {
            guard let number = Self.withCheckDigits("290200" + String(individual).leftPadded(to: 3)) else { continue }
            found1900 = true
            #expect(!NorwegianIdentifier.isValid(number, allowSynthetic: true))
        }
        #expect(found1900)
    }

    @Test("D-numbers (day + 40) are valid; day 72+ is not")
    func dNumbers() throws {
        let dNumber = try #require(Self.firstValid("410190"))  // 1 January 1990 as D-number
        #expect(NorwegianIdentifier.parse(dNumber, allowSynthetic: false)?.kind == .dNumber)
        let lastDay = try #require(Self.firstValid("710190"))
        #expect(NorwegianIdentifier.isValid(lastDay, allowSynthetic: false))
        let beyond = try #require(Self.firstValid("720190"))
        #expect(!NorwegianIdentifier.isValid(beyond, allowSynthetic: true))
    }

    @Test("synthetic numbers (month + 40 NAV/Dolly, month + 80 Skatteetaten) only when allowed")
    func syntheticNumbers() throws {
        let dolly = try #require(Self.firstValid("014190"))  // January + 40
        let tenor = try #require(Self.firstValid("018190"))  // January + 80
        let syntheticDNumber = try #require(Self.firstValid("418190"))
        for number in [dolly, tenor, syntheticDNumber] {
            #expect(!NorwegianIdentifier.isValid(number, allowSynthetic: false))
            #expect(NorwegianIdentifier.isValid(number, allowSynthetic: true))
            #expect(NorwegianIdentifier.parse(number, allowSynthetic: true)?.isSynthetic == true)
        }
        let monthBeyond = try #require(Self.firstValid("019390"))  // 93 = 13 + 80
        #expect(!NorwegianIdentifier.isValid(monthBeyond, allowSynthetic: true))
    }

    @Test("known numbers: published synthetic test numbers and known invalid ones")
    func knownNumbers() {
        // Hard-coded synthetic numbers (month + 40 and month + 80), check digits computed by hand
        // from the algorithm; they name no real person.
        let knownSynthetic = ["15476545657", "03498545644", "22887245669", "14817212329", "07913812306"]
        for number in knownSynthetic {
            #expect(NorwegianIdentifier.isValid(number, allowSynthetic: true), "\(number)")
            #expect(!NorwegianIdentifier.isValid(number, allowSynthetic: false), "\(number)")
            #expect(Self.withCheckDigits(String(number.prefix(9))) == number)
        }
        // A D-number (day 05 + 40) that is not synthetic.
        #expect(NorwegianIdentifier.parse("45048045689", allowSynthetic: false)?.kind == .dNumber)
        for invalid in [
            "15476545658", "12345678901", "00000000000", "1507650056", "154765456571", "1507650056a", "15076500 565",
            "",
        ] {
            #expect(!NorwegianIdentifier.isValid(invalid, allowSynthetic: true), "\(invalid)")
        }
    }

    @Test("every date in a year: the validator agrees with the independent generator")
    func exhaustiveYear() {
        var checked = 0
        for month in 1...12 {
            for day in 1...31 {
                let datePart = String(day).leftPadded(to: 2) + String(month).leftPadded(to: 2) + "85"
                guard let number = Self.withCheckDigits(datePart + "123") else { continue }
                let exists = day <= [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
                #expect(NorwegianIdentifier.isValid(number, allowSynthetic: false) == exists, "\(datePart)")
                checked += 1
            }
        }
        #expect(checked > 200)
    }

    // MARK: Scanner

    private func kinds(_ text: String, allowSynthetic: Bool = true) -> [PersonalDataFinding.Kind] {
        PersonalDataScanner.findings(in: text, allowSynthetic: allowSynthetic).map(\.kind)
    }

    private func found(_ text: String) -> [String] {
        PersonalDataScanner.findings(in: text, allowSynthetic: true).map { String(text[$0.range]) }
    }

    @Test("R2: a fødselsnummer in free text is found, also written 'DDMMYY IIIKK'")
    func scannerFindsIdentityNumbers() {
        #expect(found("Pasienten (15476545657) møtte til samtale.") == ["15476545657"])
        #expect(found("fnr: 154765 45657, ok") == ["154765 45657"])
        #expect(kinds("Pasient 15476545657") == [.nationalIdentityNumber])
        // Invalid checksums are not identity numbers (and 11 digits are no phone number).
        #expect(found("Saksnummer 15476545667 i arkivet") == [])
        // Glued to letters the number is still there (R16, fail closed): "fnr15476545657".
        #expect(found("ref AB15476545657") == ["15476545657"])
    }

    @Test("synthetic numbers in text are found only when synthetic numbers are allowed")
    func scannerSyntheticSwitch() throws {
        let dolly = try #require(Self.firstValid("014190"))
        #expect(kinds("nummer \(dolly)", allowSynthetic: true) == [.nationalIdentityNumber])
        #expect(kinds("nummer \(dolly)", allowSynthetic: false) == [])
    }

    @Test("Norwegian phone numbers: 8 digits, +47/0047, spaced forms")
    func scannerFindsPhoneNumbers() {
        #expect(found("Ring meg på 91234567.") == ["91234567"])
        #expect(found("tlf 912 34 567 eller 22 33 44 55") == ["912 34 567", "22 33 44 55"])
        #expect(found("mobil +47 912 34 567") == ["+47 912 34 567"])
        #expect(found("mobil +4791234567!") == ["+4791234567"])
        #expect(found("0047 91234567") == ["0047 91234567"])
        #expect(found("004791234567") == ["004791234567"])
        #expect(found("4123 4567") == ["4123 4567"])
        // Not phone numbers: too short, a year, a date, a postcode, a leading 0/1.
        #expect(found("I 2024 flyttet hen til 0150 Oslo") == [])
        #expect(found("dato 01012024") == [])
        #expect(found("1234567") == [])
        #expect(found("123456789") == [])
    }

    @Test("e-mail addresses are found with their whole address")
    func scannerFindsEmail() {
        #expect(found("Send til kari.nordmann@example.no.") == ["kari.nordmann@example.no"])
        #expect(found("(ola+ips@nav-test.example.com)") == ["ola+ips@nav-test.example.com"])
        #expect(found("bjørn@eksempel.no") == ["bjørn@eksempel.no"])
        #expect(found("a @ b, x@y, x@localhost, @example.no, user@host.1") == [])
    }

    @Test("several kinds in one text come back in order, ranges slice the original text")
    func scannerMixedText() {
        let text = "Kari (15476545657) nås på 912 34 567 eller kari@example.no; møte 12.03."
        #expect(kinds(text) == [.nationalIdentityNumber, .phoneNumber, .emailAddress])
        #expect(found(text) == ["15476545657", "912 34 567", "kari@example.no"])
        #expect(PersonalDataScanner.isFree(of: "Møte om arbeidsmål i uke 12, ingen persondata."))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
