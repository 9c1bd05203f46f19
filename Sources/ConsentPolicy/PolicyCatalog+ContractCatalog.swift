package import ConsentContracts

extension PolicyCatalog {
    /// Prepares every contract of a loaded catalog (field plans are built here, once), on the
    /// topic names `topicName` gives for the contracts' default names.
    package init(catalog: ContractCatalog, topicName: (String) -> String = { $0 }) {
        self.init(contracts: catalog.contracts, version: catalog.version, topicName: topicName)
    }

    /// Loads `Contracts/` from `directory` and prepares it.
    package static func load(directory: String) throws -> PolicyCatalog {
        PolicyCatalog(catalog: try ContractCatalog.load(directory: directory))
    }
}
