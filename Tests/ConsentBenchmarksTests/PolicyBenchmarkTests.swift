import ConsentBenchmarks
import ConsentBridgeTesting
import ConsentContracts
import ConsentPolicy
import Testing

/// The benchmark's workload is what it claims (no timing assertions: numbers come from the command).
@Suite struct PolicyBenchmarkTests {
    @Test func workloadIsARealisticMixOfAboutOneKiBEvents() throws {
        let catalog = try PolicyCatalog.load(directory: RepositoryPaths.contractsDirectory)
        var configuration = PolicyBenchmark.Configuration()
        configuration.decisions = 2000
        configuration.warmup = 10
        configuration.distinctEvents = 512
        configuration.patients = 200
        let workload = try PolicyBenchmark.workload(
            catalog: catalog, contractsDirectory: RepositoryPaths.contractsDirectory, configuration: configuration)
        #expect(workload.events.count == 512)
        let types = Set(workload.events.compactMap(\.headers.type))
        #expect(types.count >= 8)
        let sizes = workload.events.map(\.body.count)
        let mean = sizes.reduce(0, +) / sizes.count
        #expect((700...1300).contains(mean), "mean body \(mean) bytes")
        // Every body is valid for its contract, so the benchmark measures decisions, not rejections at parse.
        for event in workload.events {
            let plan = try #require(catalog.plan(forCEType: event.headers.type ?? ""))
            #expect(plan.contract.schema.validate(try StrictJSON.parse(event.body)) == [], "\(plan.contract.name)")
        }
        let result = PolicyBenchmark.run(catalog: catalog, workload: workload, configuration: configuration)
        #expect(result.outcomes["accepted", default: 0] > 0)
        #expect(result.outcomes["anonymized", default: 0] > 0)
        #expect(result.outcomes["nav-internal-never-crosses", default: 0] > 0)
        let line = try StrictJSON.parse(result.jsonLine)
        #expect(line.objectValue?.keys == ["decisions_per_s", "p50_us", "p99_us"])
    }
}
