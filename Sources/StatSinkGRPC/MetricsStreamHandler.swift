import AsyncAlgorithms
import GRPCCore
import GRPCProtobuf
import Logging
import ServiceLifecycle
import StatSinkModel
import StatSinkProtobuf

/// `/envoy.service.metrics.v3.MetricsService/StreamMetrics`: each stream feeds a
/// ``SnapshotAssembler`` and hands the snapshots it completes to the sink, in order.
///
/// A stream is read (and decoded) by one task and assembled by another, joined by a channel that
/// holds one message, and each completed snapshot is written while the next is assembled
/// (``OrderedSnapshotWriter``: one write in flight, in order). A slow sink thus slows the reading,
/// which HTTP/2 flow control passes back to Envoy as buffering on its side, never as a blocked
/// thread. A third task ticks, so that a quiet stream's open snapshot is written after
/// ``MetricsServiceServerConfiguration/snapshotIdleTimeout``. The stream ends (and is answered)
/// only once all its snapshots are written.
///
/// A stream ends with:
/// - `INVALID_ARGUMENT` for a message that cannot be decoded or taken, or a first message without
///   `identifier.node`; what earlier messages assembled is written first. Other streams go on.
/// - a reset from the transport for a message above
///   ``MetricsServiceServerConfiguration/maxMessageBytes`` (again after writing what was assembled).
/// - `UNAVAILABLE` when the server shuts down (the open snapshot written first).
/// - `OK` when the client half-closes (Envoy never does).
struct MetricsStreamHandler: RegistrableRPCService {
    let configuration: MetricsServiceServerConfiguration
    let sink: any MetricSnapshotSink
    let logger: Logger

    private enum Event: Sendable {
        case message(DecodedMetricsMessage)
        case ended
        case failed(any Error)
        case tick
    }

    /// Registers `StreamMetrics` under the generated method descriptor, with the decoder of
    /// ``DecodedMetricsMessage`` in place of the generated messages' (see there why).
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Envoy_Service_Metrics_V3_MetricsService.Method.StreamMetrics.descriptor,
            deserializer: DecodedMetricsMessageDeserializer(),
            serializer: ProtobufSerializer<Envoy_Service_Metrics_V3_StreamMetricsResponse>()
        ) { request, context in
            StreamingServerResponse(single: try await streamMetrics(request: request, context: context))
        }
    }

    func streamMetrics(
        request: StreamingServerRequest<DecodedMetricsMessage>,
        context: ServerContext
    ) async throws -> ServerResponse<Envoy_Service_Metrics_V3_StreamMetricsResponse> {
        let events = AsyncChannel<Event>()
        let tick = min(max(configuration.snapshotIdleTimeout / 4, .milliseconds(5)), .milliseconds(100))
        let outcome = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await message in request.messages { await events.send(.message(message)) }
                    await events.send(.ended)
                } catch {
                    await events.send(.failed(error))
                }
            }
            group.addTask {
                while (try? await Task.sleep(for: tick)) != nil { await events.send(.tick) }
            }
            let outcome = await process(events, context: context)
            group.cancelAll()
            events.finish()  // releases a reader or ticker waiting to send
            return outcome
        }
        switch outcome {
        case .success: return ServerResponse(message: Envoy_Service_Metrics_V3_StreamMetricsResponse())
        case .failure(let error): throw error
        }
    }

    /// Consumes the stream's events until it ends; every assembled snapshot is written before
    /// this returns.
    private func process(_ events: AsyncChannel<Event>, context: ServerContext) async -> Result<Void, RPCError> {
        let clock = ContinuousClock()
        var assembler: SnapshotAssembler?
        var writer = OrderedSnapshotWriter(sink: sink)
        var lastMessage = clock.now
        // Ticks handled since the last message. Idle means both the timeout passed and a second
        // tick came with no message between: after the process was starved of CPU, the first
        // tick may be handled before a message that arrived in time and waits right behind it
        // (the reader sends only once the tick is taken), and closing then would split a flush.
        var ticksSinceMessage = 0
        var outcome: Result<Void, RPCError> = .failure(RPCError(code: .cancelled, message: "the stream was cancelled"))
        var logger = logger
        logger[metadataKey: "peer"] = "\(context.remotePeer)"
        loop: for await event in events {
            switch event {
            case .message(let message):
                lastMessage = clock.now
                ticksSinceMessage = 0
                if assembler == nil {
                    guard let sent = message.node else {
                        outcome = .failure(RPCError(
                            code: .invalidArgument,
                            message: "the first message of a stream must carry identifier.node (Envoy sends it)"))
                        break loop
                    }
                    let node = NodeIdentity(id: sent.id.isEmpty ? configuration.fallbackNode.id : sent.id, cluster: sent.cluster)
                    logger[metadataKey: "node"] = "\(node.id)"
                    logger.info("metrics stream opened")
                    assembler = SnapshotAssembler(node: node)
                }
                for snapshot in assembler!.add(message, receivedAtMs: wallClockMs()) {
                    await writer.write(snapshot)
                }
            case .tick:
                if Task.isShuttingDownGracefully {
                    outcome = .failure(RPCError(code: .unavailable, message: "statsink is shutting down"))
                    break loop
                }
                if context.cancellation.isCancelled { break loop }
                ticksSinceMessage += 1
                if assembler?.openTimestampMs != nil, ticksSinceMessage >= 2, clock.now - lastMessage >= configuration.snapshotIdleTimeout,
                    let snapshot = assembler?.closeOpenSnapshot()
                {
                    await writer.write(snapshot)
                }
            case .ended:
                outcome = .success(())
                break loop
            case .failed(let error):
                // A reset (Envoy restarting, a network failure) or bytes that do not decode.
                outcome = .failure(error as? RPCError ?? RPCError(code: .unknown, message: "the stream failed: \(error)"))
                break loop
            }
        }
        if let snapshot = assembler?.closeOpenSnapshot() { await writer.write(snapshot) }
        await writer.finish()
        switch outcome {
        case .success: logger.info("metrics stream ended by the client")
        case .failure(let error) where error.code == .invalidArgument:
            logger.warning("metrics stream rejected", metadata: ["error": "\(error.message)"])
        case .failure(let error) where error.code == .internalError:
            // The transport's own refusals, a message above max_message_bytes among them.
            logger.warning("metrics stream failed (a message larger than max_message_bytes ends its stream so)", metadata: [
                "error": "\(error.message)",
            ])
        case .failure(let error): logger.info("metrics stream closed", metadata: ["status": "\(error.code)", "reason": "\(error.message)"])
        }
        return outcome
    }
}
