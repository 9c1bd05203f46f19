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
        abstract: "Exit 0 when the running process at http.listen-address reports ready, 1 otherwise.",
        discussion: """
            Exit 0: ready (or, with --live, alive). Exit 1: anything else: not ready, not reachable, a bad --address, or a \
            configuration that cannot be read (its problems go to standard error, by key, never a value). A container \
            health check knows only healthy (0) and unhealthy (1), and Docker reserves every other code, so `health` \
            never exits 78 as `run` and `config check` do; run `config check` to see why a configuration is refused.
            """
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
                FileHandle.standardError.write(Data("--address must be HOST:PORT\n".utf8))
                throw ExitCode(1)
            }
            url = parsed.probeURL(path: path)
        } else {
            do {
                url = try input.load().httpListenAddress.probeURL(path: path)
            } catch is ExitCode {
                // `load` has printed the problems; unhealthy is all a health check can say.
                throw ExitCode(1)
            }
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
