import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import StatSinkConfig
import Synchronization

/// A small HTTP/1.1 server for operators and scrapers: `GET` on a fixed set of paths, each
/// answered by a ``AdminResponder``; 404 for other paths, 405 for other methods.
///
/// A `Service`: it listens from `run()` until graceful shutdown (or cancellation), then closes
/// the listening socket. Every response closes its connection, which is all a scraper needs.
/// Port 0 picks a free port; ``boundPort`` tells which once listening.
public final class AdminServer: Service, Sendable {
    /// Answers one path. Called off the event loop, so it may block briefly (a SQLite read).
    public typealias AdminResponder = @Sendable () -> AdminResponse

    /// Where the server listens.
    public let address: ListenAddress
    private let routes: [String: AdminResponder]
    private let logger: Logger
    private let port = Mutex<Int?>(nil)

    /// Creates a server answering `routes` (path → responder), e.g. `["/metrics": …]`.
    public init(address: ListenAddress, routes: [String: AdminResponder], logger: Logger) {
        self.address = address
        self.routes = routes
        self.logger = logger
    }

    /// The TCP port listened on, once ``run()`` has bound it; `nil` before and after.
    public var boundPort: Int? { port.withLock { $0 } }

    /// Listens until graceful shutdown or cancellation.
    ///
    /// - Throws: the bind error when the address cannot be listened on.
    public func run() async throws {
        let routes = self.routes
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminRequestHandler(routes: routes))
                }
            }
            .bind(host: address.host, port: Int(address.port))
            .get()
        port.withLock { $0 = channel.localAddress?.port }
        logger.info("admin server listening", metadata: ["address": "\(address.host):\(channel.localAddress?.port ?? 0)"])
        // Returns on graceful shutdown, throws on cancellation: either way, stop listening.
        try? await gracefulShutdown()
        port.withLock { $0 = nil }
        try? await channel.close()
    }
}

/// What a responder answers.
public struct AdminResponse: Sendable, Hashable {
    /// The HTTP status code, e.g. 200 or 503.
    public var status: Int
    /// The `Content-Type` header.
    public var contentType: String
    /// The body.
    public var body: String

    /// Creates a response.
    public init(status: Int = 200, contentType: String = "text/plain; charset=utf-8", body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// One connection's requests: routes `GET PATH` and answers with `Connection: close`.
private final class AdminRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: [String: AdminServer.AdminResponder]
    private var head: HTTPRequestHead?

    init(routes: [String: AdminServer.AdminResponder]) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break  // no route takes a body
        case .end:
            guard let request = head else { return }
            head = nil
            let path = String(request.uri.prefix { $0 != "?" })
            guard let responder = routes[path] else {
                write(AdminResponse(status: 404, body: "not found; try \(routes.keys.sorted().joined(separator: ", "))\n"), head: request, context: context)
                return
            }
            guard request.method == .GET || request.method == .HEAD else {
                write(AdminResponse(status: 405, body: "method not allowed; use GET\n"), head: request, context: context)
                return
            }
            // Off the event loop: the figures may wait for a SQLite lock.
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask { responder() }.whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(let response): handler.write(response, head: request, context: context)
                case .failure: handler.write(AdminResponse(status: 500, body: "internal error\n"), head: request, context: context)
                }
            }
        }
    }

    private func write(_ response: AdminResponse, head request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        if response.status == 405 { headers.add(name: "Allow", value: "GET, HEAD") }
        let head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: response.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            channel.close(promise: nil)
        }
    }
}
