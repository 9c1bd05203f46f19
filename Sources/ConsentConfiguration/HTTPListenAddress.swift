/// `host:port` (or `[v6]:port`) of the bridge's HTTP listener.
package struct HTTPListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address (IPv6 without brackets).
    package var host: String
    /// TCP port; 0 = any free port.
    package var port: Int

    /// An address; `parse` validates text, this initializer takes parts as they are.
    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` / `[v6]:port`; port 0…65535 (0 = any free port).
    package static func parse(_ text: String) -> HTTPListenAddress? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port),
            portText.allSatisfy(\.isASCII)
        else { return nil }
        return HTTPListenAddress(host: String(host), port: port)
    }

    /// The host a local probe (`consent-bridge health`) connects to: a wildcard listen
    /// address is reached through loopback.
    package var probeHost: String {
        switch host {
        case "0.0.0.0", "*": "127.0.0.1"
        case "::": "::1"
        default: host
        }
    }

    /// `http://probeHost:port/path`, e.g. for `GET /health/ready`.
    package func probeURL(path: String) -> String {
        let hostPart = probeHost.contains(":") ? "[\(probeHost)]" : probeHost
        return "http://\(hostPart):\(port)\(path.hasPrefix("/") ? path : "/" + path)"
    }

    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
