import ArgumentParser

/// `consent-bridge`: the root command. Each subcommand lives in `Commands/<Name>Command.swift`.
@main
struct ConsentBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent-bridge",
        abstract: "Consent-enforcing integration bridge between health services (EPJ) and NAV for IPS.",
        subcommands: [
            RunCommand.self,
            DemoCommand.self,
            SimulateCommand.self,
            BrokerCommand.self,
            HealthCommand.self,
            RejectionsCommand.self,
            DecideCommand.self,
            AgreementsCommand.self,
            SendCommand.self,
            DisclosuresCommand.self,
            AccessReportCommand.self,
            BreachesCommand.self,
            KafkaClusterCommand.self,
            ConfigCommand.self,
            ContractsCommand.self,
            BenchCommand.self,
        ]
    )
}

/// `consent-bridge bench …`: benchmark commands that print numbers (never timed tests).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print throughput and latency figures (build with -c release).",
        subcommands: [
            BenchKafkaCommand.self,
            BenchBridgeCommand.self,
            BenchStoreCommand.self,
            BenchPolicyCommand.self,
            BenchDecideCommand.self,
            BenchConsentViewCommand.self,
            BenchLoadCommand.self,
        ]
    )
}
