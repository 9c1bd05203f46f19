extension BridgeConfiguration {
    /// Files and directories the configuration names, by key, so `config check` can report a
    /// missing CA file or contracts directory by its key before librdkafka or the contract
    /// loader fail later with a less direct message. Paths are not secrets.
    package var referencedPaths: [(key: String, path: String)] {
        var paths: [(key: String, path: String)] = [("contracts.directory", contractsDirectory)]
        if let agreementsRegistry { paths.append(("agreements.registry", agreementsRegistry)) }
        for (side, kafka) in [("health", healthKafka), ("nav", navKafka)] {
            guard let kafka else { continue }
            if let path = kafka.caLocation { paths.append(("\(side).kafka.ssl.ca-location", path)) }
            if let path = kafka.certificateLocation { paths.append(("\(side).kafka.ssl.certificate-location", path)) }
            if let path = kafka.keyLocation { paths.append(("\(side).kafka.ssl.key-location", path)) }
        }
        return paths
    }
}
