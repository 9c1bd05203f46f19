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

    @Option(help: "HOST:PORT to probe instead of the configured http.listen-address (no configuration is read then).")
    var address: String?

    func run() async throws {
        let path = live ? "/health/live" : "/health/ready"
        let url: String
        if let address {
            guard let parsed = HTTPListenAddress.parse(address) else {
                throw ValidationError("--address must be HOST:PORT")
            }
            url = parsed.probeURL(path: path)
        } else {
            url = try input.load().httpListenAddress.probeURL(path: path)
        }
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
