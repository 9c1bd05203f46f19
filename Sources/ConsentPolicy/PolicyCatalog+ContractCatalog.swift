package import ConsentContracts

extension PolicyCatalog {
    /// Prepares every contract of a loaded catalog (field plans are built here, once).
    package init(catalog: ContractCatalog) {
        self.init(contracts: catalog.contracts, version: catalog.version)
    }

    /// Loads `Contracts/` from `directory` and prepares it.
    package static func load(directory: String) throws -> PolicyCatalog {
        PolicyCatalog(catalog: try ContractCatalog.load(directory: directory))
    }
}
