/// A TCP address to listen on: a host (name, IPv4 or IPv6 address) and a port.
///
/// Written `HOST:PORT`, with IPv6 addresses in brackets: `127.0.0.1:9902`, `localhost:9902`,
/// `[::1]:9902`, `0.0.0.0:18000`.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address, without brackets.
    public var host: String
    /// The TCP port, `1...65535`.
    public var port: UInt16

    /// Creates an address from its parts; no validation is done.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (`[IPV6]:PORT` for IPv6 addresses).
    ///
    /// - Throws: ``ParseError`` saying what is wrong with `text`.
    public init(parsing text: String) throws(ParseError) {
        if text.isEmpty { throw ParseError("expected HOST:PORT, e.g. \"127.0.0.1:9902\", got an empty string") }
        if text.contains(where: \.isWhitespace) {
            throw ParseError("expected HOST:PORT without spaces, got \(text.quotedForMessage)")
        }
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ParseError("missing \"]\" after the IPv6 address in \(text.quotedForMessage)")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw ParseError("expected \":PORT\" after \"]\" in \(text.quotedForMessage)")
            }
            portText = rest.dropFirst()
            // An optional zone follows "%": fe80::1%eth0.
            let address = host.prefix { $0 != "%" }
            let zone = host.dropFirst(address.count)
            guard address.contains(":"), address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }),
                zone.dropFirst().allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") })
            else {
                throw ParseError("\(("[" + host + "]").quotedForMessage) is not an IPv6 address")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ParseError("missing port: expected HOST:PORT, e.g. \"127.0.0.1:9902\", got \(text.quotedForMessage)")
            }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw ParseError("IPv6 addresses must be in brackets, e.g. \"[::1]:9902\", got \(text.quotedForMessage)")
            }
            if host.isEmpty {
                throw ParseError("missing host: expected HOST:PORT, e.g. \"0.0.0.0:9902\", got \(text.quotedForMessage)")
            }
            let allowed = host.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "-" || $0 == "_" }
            if !allowed {
                throw ParseError("\(host.quotedForMessage) is not a host name or address")
            }
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText), (1...65535).contains(port)
        else {
            throw ParseError("port must be a number from 1 to 65535, got \(String(portText).quotedForMessage)")
        }
        self.init(host: host, port: UInt16(port))
    }

    /// `HOST:PORT`, with IPv6 hosts in brackets; parses back to an equal address.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Why a text is not a listen address.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in one line.
        public var message: String

        /// Creates an error with a message.
        public init(_ message: String) {
            self.message = message
        }

        /// The message.
        public var description: String { message }
    }
}

extension String {
    /// The string in double quotes with quotes, backslashes and control characters escaped, so
    /// that it reads unambiguously inside a one-line message.
    var quotedForMessage: String { yamlString(self) }

    /// The string padded on the left with zeros to `width` characters.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
