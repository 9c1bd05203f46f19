#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Every message contract of `Contracts/schemas`, compiled and indexed by CloudEvents type.
package struct ContractCatalog: Sendable {
    /// The contracts, sorted by name.
    package var contracts: [MessageContract]
    /// Stable digest (SHA-256, hex) over the sorted schema file names and bytes, for provenance.
    package var version: String
    private var indexByCEType: [String: Int]

    /// A catalog from already built contracts (tests, tools).
    package init(contracts: [MessageContract], version: String) {
        self.contracts = contracts.sorted { $0.name < $1.name }
        self.version = version
        var index: [String: Int] = [:]
        for (position, contract) in self.contracts.enumerated() { index[contract.ceType] = position }
        indexByCEType = index
    }

    /// Loads `<directory>/schemas/*.schema.json`; throws `ContractLoadError` listing every
    /// problem (file + JSON pointer + message) when any schema is unusable.
    package static func load(directory: String) throws -> ContractCatalog {
        let (catalog, diagnostics) = loadCollecting(directory: directory)
        if let catalog, !diagnostics.contains(where: { $0.severity == .error }) { return catalog }
        throw ContractLoadError(diagnostics: diagnostics)
    }

    /// Loads what it can and returns every diagnostic (the linter's entry point).
    package static func loadCollecting(directory: String) -> (ContractCatalog?, [ContractDiagnostic]) {
        var diagnostics: [ContractDiagnostic] = []
        let schemaDirectory = directory + "/schemas"
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: schemaDirectory)
                .filter { $0.hasSuffix(".schema.json") }.sorted()
        } catch {
            diagnostics.append(
                ContractDiagnostic(file: "schemas", pointer: "", message: "cannot list the schema directory"))
            return (nil, diagnostics)
        }
        if names.isEmpty {
            diagnostics.append(ContractDiagnostic(file: "schemas", pointer: "", message: "no *.schema.json files"))
        }
        var digest = SHA256()
        var contracts: [MessageContract] = []
        var fileByCEType: [String: String] = [:]
        var documents: [String: JSONValue] = [:]
        for fileName in names {
            let file = "schemas/" + fileName
            guard let bytes = FileManager.default.contents(atPath: schemaDirectory + "/" + fileName) else {
                diagnostics.append(ContractDiagnostic(file: file, pointer: "", message: "cannot read the file"))
                continue
            }
            digest.update(Array(fileName.utf8) + [0])
            digest.update(Array(String(bytes.count).utf8) + [0])
            digest.update(Array(bytes))
            let document: JSONValue
            do {
                document = try StrictJSON.parse(bytes, limits: JSONParseLimits(maxDepth: 64, maxBytes: 4 * 1024 * 1024))
            } catch {
                diagnostics.append(ContractDiagnostic(file: file, pointer: "", message: "not strict JSON: \(error)"))
                continue
            }
            let name = String(fileName.dropLast(".schema.json".count))
            documents[name] = document
            let (contract, found) = MessageContractBuilder.build(name: name, file: file, document: document)
            diagnostics += found
            guard let contract else { continue }
            if let other = fileByCEType[contract.ceType] {
                diagnostics.append(
                    ContractDiagnostic(file: file, pointer: "/x-ce-type", message: "ce_type also used by \(other)"))
                continue
            }
            fileByCEType[contract.ceType] = file
            contracts.append(contract)
        }
        diagnostics += checkAnonymousForms(contracts: contracts, documents: documents)
        return (ContractCatalog(contracts: contracts, version: "sha256:" + digest.finalizeHex()), diagnostics)
    }

    /// Every contract with an anonymous form has its derived schema beside it, unchanged (the
    /// bridge validates anonymous outputs against it; integrators read it).
    private static func checkAnonymousForms(contracts: [MessageContract], documents: [String: JSONValue])
        -> [ContractDiagnostic]
    {
        var diagnostics: [ContractDiagnostic] = []
        for contract in contracts where contract.hasAnonymousForm {
            guard let base = documents[contract.name],
                let derived = AnonymousFormSchema.derive(from: base, name: contract.name)
            else {
                continue
            }
            let anonymousName = AnonymousFormSchema.name(of: contract.name)
            let file = "schemas/\(anonymousName).schema.json"
            guard let committed = documents[anonymousName] else {
                diagnostics.append(
                    ContractDiagnostic(
                        file: file, pointer: "",
                        message: "missing: generate it with `consent-bridge contracts anonymous-forms --write`"))
                continue
            }
            if !JSONEquality.equal(committed, derived) {
                diagnostics.append(
                    ContractDiagnostic(
                        file: file, pointer: "",
                        message:
                            "differs from what \(contract.name).schema.json derives: regenerate it with `consent-bridge contracts anonymous-forms --write`"
                    ))
            }
        }
        return diagnostics
    }

    /// The contract of the anonymous form of `contract`, when it has one.
    package func anonymousForm(of contract: MessageContract) -> MessageContract? {
        guard contract.hasAnonymousForm else { return nil }
        return self.contract(forCEType: AnonymousFormSchema.ceType(of: contract.ceType))
    }

    /// The contract for a CloudEvents type, or nil (unknown contract → reject, fail closed).
    package func contract(forCEType ceType: String) -> MessageContract? {
        indexByCEType[ceType].map { contracts[$0] }
    }

    /// The contract with the given file stem, or nil.
    package func contract(named name: String) -> MessageContract? {
        contracts.first { $0.name == name }
    }
}
