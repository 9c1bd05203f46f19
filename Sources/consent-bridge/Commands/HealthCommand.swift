import ArgumentParser
import ConsentConfiguration
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `consent-bridge health`: asks a running process whether it is ready (container health check).
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when the running process at http.listen-address reports ready, 1 otherwise."
    )

    @OptionGroup var input: ConfigurationInput

    @Flag(help: "Only check liveness (the process answers), not readiness.")
    var live = false

    func run() async throws {
        let configuration = try input.load()
        let url = configuration.httpListenAddress.probeURL(path: live ? "/health/live" : "/health/ready")
        guard let endpoint = URL(string: url) else { throw ExitCode(1) }
        var request = URLRequest(url: endpoint)
        request.timeoutInterval = 5
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            print(String(decoding: data, as: UTF8.self), terminator: "")
            if status != 200 { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("not reachable: \(url)")
            throw ExitCode(1)
        }
    }
}
