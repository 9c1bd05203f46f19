package import ConsentContracts

/// One version of a patient's IPS consent as recorded in EPJ (a record on `health.consent`).
///
/// Parsed only from bytes that passed the strict parser and the `consent` contract schema;
/// anything else is not a consent (`ConsentRecordError`), which the view treats as no consent.
package struct ConsentRecord: Sendable, Hashable, Codable {
    /// Granted or withdrawn.
    package enum Status: String, Sendable, Hashable, Codable {
        case granted, withdrawn
    }

    /// Oral or written (R6: no written form needed, but the recording must show it).
    package enum Form: String, Sendable, Hashable, Codable {
        case oral, written
    }

    /// Who recorded the consent in EPJ.
    package struct RecordedBy: Sendable, Hashable, Codable {
        /// HPR number of the health professional.
        package var hprNumber: String
        /// Their role, e.g. `behandler`.
        package var role: String

        package init(hprNumber: String, role: String) {
            self.hprNumber = hprNumber
            self.role = role
        }
    }

    /// The patient's fødselsnummer (the consent topic's key).
    package var patientID: String
    /// EPJ's id of the consent, stable across versions.
    package var consentID: String
    /// Monotonically increasing per patient.
    package var version: Int64
    /// Granted or withdrawn (R5).
    package var status: Status
    /// What may be shared (R6).
    package var categories: ConsentCategories
    /// To whom on the NAV side (R13).
    package var recipientRoles: RecipientRoles
    /// Which ways information may flow.
    package var directions: ConsentDirections
    /// Always `ips-follow-up` for a record the schema accepted.
    package var purpose: String
    /// Who recorded it.
    package var recordedBy: RecordedBy
    /// Who gave it (R1): `patient`, or the representative's relation (`parent`, `guardian`,
    /// …); nil in records made before the contract had the field.
    package var givenBy: String?
    /// When it was recorded.
    package var recordedAt: Timestamp
    /// From when it applies.
    package var validFrom: Timestamp
    /// Until when it applies (exclusive); nil = until withdrawn.
    package var validUntil: Timestamp?
    /// Oral or written.
    package var form: Form

    /// A record with every attribute given (tests, fixtures).
    package init(
        patientID: String, consentID: String, version: Int64, status: Status, categories: ConsentCategories,
        recipientRoles: RecipientRoles, directions: ConsentDirections, purpose: String = ConsentRecord.ipsPurpose,
        recordedBy: RecordedBy, recordedAt: Timestamp, validFrom: Timestamp, validUntil: Timestamp? = nil,
        form: Form, givenBy: String? = nil
    ) {
        self.givenBy = givenBy
        self.patientID = patientID
        self.consentID = consentID
        self.version = version
        self.status = status
        self.categories = categories
        self.recipientRoles = recipientRoles
        self.directions = directions
        self.purpose = purpose
        self.recordedBy = recordedBy
        self.recordedAt = recordedAt
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.form = form
    }

    /// The only purpose the bridge serves.
    package static let ipsPurpose = "ips-follow-up"

    /// Parses a record body: strict JSON, then the `consent` contract's schema, then typed
    /// extraction. Unknown category/role/direction names are errors, never silently dropped
    /// (a consent the bridge cannot read fully is no consent).
    package static func parse(_ bytes: some Collection<UInt8>, schema: JSONSchema) throws(ConsentRecordError)
        -> ConsentRecord
    {
        let value: JSONValue
        do {
            value = try StrictJSON.parse(bytes)
        } catch {
            throw ConsentRecordError(code: .invalidJSON, detail: error.code.rawValue)
        }
        if let violation = schema.validate(value).first {
            throw ConsentRecordError(code: .schemaViolation, detail: "\(violation.keyword) at \(violation.pointer)")
        }
        return try ConsentRecord(validated: value)
    }

    /// Typed extraction from a value the consent schema accepted.
    package init(validated value: JSONValue) throws(ConsentRecordError) {
        guard let object = value.objectValue else { throw ConsentRecordError(code: .malformed, detail: "root") }
        func string(_ key: String) throws(ConsentRecordError) -> String {
            guard let text = object[key]?.stringValue else { throw ConsentRecordError(code: .malformed, detail: key) }
            return text
        }
        func time(_ key: String) throws(ConsentRecordError) -> Timestamp {
            guard let time = Timestamp(rfc3339: try string(key)) else {
                throw ConsentRecordError(code: .malformed, detail: key)
            }
            return time
        }
        func names(_ key: String) throws(ConsentRecordError) -> [String] {
            guard let items = object[key]?.arrayValue else { throw ConsentRecordError(code: .malformed, detail: key) }
            var result: [String] = []
            for item in items {
                guard let text = item.stringValue else { throw ConsentRecordError(code: .malformed, detail: key) }
                result.append(text)
            }
            return result
        }
        patientID = try string("patientId")
        consentID = try string("consentId")
        guard let version = object["version"]?.integerValue, version >= 1 else {
            throw ConsentRecordError(code: .malformed, detail: "version")
        }
        self.version = version
        guard let status = Status(rawValue: try string("status")) else {
            throw ConsentRecordError(code: .malformed, detail: "status")
        }
        self.status = status
        var categories: ConsentCategories = []
        for name in try names("categories") {
            guard let category = ConsentCategories(name: name) else {
                throw ConsentRecordError(code: .malformed, detail: "categories")
            }
            categories.insert(category)
        }
        self.categories = categories
        var roles: RecipientRoles = []
        for name in try names("recipientRoles") {
            guard let role = RecipientRoles(name: name) else {
                throw ConsentRecordError(code: .malformed, detail: "recipientRoles")
            }
            roles.insert(role)
        }
        recipientRoles = roles
        var directions: ConsentDirections = []
        for name in try names("directions") {
            guard let direction = ConsentDirections(name: name) else {
                throw ConsentRecordError(code: .malformed, detail: "directions")
            }
            directions.insert(direction)
        }
        self.directions = directions
        purpose = try string("purpose")
        guard let recordedByObject = object["recordedBy"]?.objectValue,
            let hpr = recordedByObject["hprNumber"]?.stringValue, let role = recordedByObject["role"]?.stringValue
        else { throw ConsentRecordError(code: .malformed, detail: "recordedBy") }
        recordedBy = RecordedBy(hprNumber: hpr, role: role)
        givenBy = object["givenBy"]?.stringValue
        recordedAt = try time("recordedAt")
        validFrom = try time("validFrom")
        validUntil = object["validUntil"] == nil ? nil : try time("validUntil")
        guard let form = Form(rawValue: try string("form")) else {
            throw ConsentRecordError(code: .malformed, detail: "form")
        }
        self.form = form
    }

    /// The record as the JSON body the `consent` contract describes (member order as documented).
    package var jsonValue: JSONValue {
        var members: [JSONObject.Member] = [
            .init(key: "patientId", value: .string(patientID)),
            .init(key: "consentId", value: .string(consentID)),
            .init(key: "version", value: .integer(version)),
            .init(key: "status", value: .string(status.rawValue)),
            .init(key: "categories", value: .array(categories.names.map(JSONValue.string))),
            .init(key: "recipientRoles", value: .array(recipientRoles.names.map(JSONValue.string))),
            .init(key: "directions", value: .array(directions.names.map(JSONValue.string))),
            .init(key: "purpose", value: .string(purpose)),
            .init(
                key: "recordedBy",
                value: .object(
                    JSONObject(uniqueMembers: [
                        .init(key: "hprNumber", value: .string(recordedBy.hprNumber)),
                        .init(key: "role", value: .string(recordedBy.role)),
                    ]))),
            .init(key: "recordedAt", value: .string(recordedAt.description)),
            .init(key: "validFrom", value: .string(validFrom.description)),
        ]
        if let validUntil { members.append(.init(key: "validUntil", value: .string(validUntil.description))) }
        members.append(.init(key: "form", value: .string(form.rawValue)))
        if let givenBy { members.append(.init(key: "givenBy", value: .string(givenBy))) }
        return .object(JSONObject(uniqueMembers: members))
    }

    /// The consent's identity for provenance (disclosure rows, decisions).
    package var reference: ConsentReference { ConsentReference(consentID: consentID, version: version) }
}

extension ConsentRecord: CustomStringConvertible {
    /// Id, version and status only: never the patient id.
    package var description: String { "consent \(consentID) v\(version) \(status.rawValue)" }
}
