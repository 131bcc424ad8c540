// swift-tools-version:6.1
import PackageDescription

/// Module map (one module per external system):
/// - `StatSinkModel`: metric snapshot values; no dependencies.
/// - `StatSinkProtobuf`: Swift generated from `proto/` by `tools/generate-protos` (committed).
/// - `StatSinkCodec`: snapshot → Kafka message values (JSON, PROTOBUF), batching, key and headers.
/// - `StatSinkConfig`: the Envoy-shaped YAML configuration (Yams) and its validation.
/// - `CRdKafka` / `StatSinkKafka`: librdkafka.
/// - `CSQLite` / `StatSinkQueue`: the SQLite write-ahead queue.
/// - `StatSinkAdmin`: the admin HTTP server (`/metrics`, `/healthz`) over SwiftNIO; knows no figures.
/// - `StatSink`: orchestration; the only module that knows the whole row lifecycle.
/// - `StatSinkMetrics`: a swift-metrics backend (`MetricsFactory`) whose snapshots are `StatSinkModel` values.
/// - `StatSinkSynthetic`: Envoy-like snapshot generators (the synthetic source, tests, benchmarks).
/// - `StatSinkTestKit`: what tests and benchmarks share: the generators, a reference encoder.
/// - `statsink`: the command line, a thin shell over the library modules.
/// - `statsink-mock-broker`: librdkafka's mock cluster in a process of its own (benchmarks, harnesses).
/// - `statsink-harness`: fault injection (SIGKILL, broker outages) against the real binary.
/// - `statsink-bench`: the benchmarks, each figure next to a baseline measured in the same run.
/// - `statsink-example-app`: a Swift server using swift-metrics, flushing through the queue to Kafka.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "kafka-stat-sink",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StatSinkModel", targets: ["StatSinkModel"]),
        .library(name: "StatSinkCodec", targets: ["StatSinkCodec"]),
        .library(name: "StatSinkConfig", targets: ["StatSinkConfig"]),
        .library(name: "StatSinkKafka", targets: ["StatSinkKafka"]),
        .library(name: "StatSinkQueue", targets: ["StatSinkQueue"]),
        .library(name: "StatSink", targets: ["StatSink"]),
        .library(name: "StatSinkAdmin", targets: ["StatSinkAdmin"]),
        .library(name: "StatSinkMetrics", targets: ["StatSinkMetrics"]),
        .library(name: "StatSinkSynthetic", targets: ["StatSinkSynthetic"]),
        .library(name: "StatSinkTestKit", targets: ["StatSinkTestKit"]),
        .executable(name: "statsink", targets: ["statsink"]),
        .executable(name: "statsink-bench", targets: ["StatSinkBenchmarks"]),
        .executable(name: "statsink-mock-broker", targets: ["StatSinkMockBroker"]),
        .executable(name: "statsink-harness", targets: ["StatSinkHarness"]),
        .executable(name: "statsink-example-app", targets: ["StatSinkExampleApp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "StatSinkModel", swiftSettings: strictSettings),
        .target(
            name: "StatSinkProtobuf",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strictSettings
        ),
        .target(name: "StatSinkCodec", dependencies: ["StatSinkModel"], swiftSettings: strictSettings),
        .target(
            name: "StatSinkConfig",
            dependencies: ["StatSinkModel", "StatSinkCodec", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "StatSinkKafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "StatSinkQueue",
            dependencies: ["CSQLite", "StatSinkCodec", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "StatSink",
            dependencies: [
                "StatSinkModel", "StatSinkCodec", "StatSinkConfig", "StatSinkKafka", "StatSinkQueue", "StatSinkSynthetic",
                "StatSinkMetrics", "StatSinkAdmin",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "StatSinkAdmin",
            dependencies: [
                "StatSinkConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "StatSinkMetrics",
            dependencies: ["StatSinkModel", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strictSettings
        ),
        .target(name: "StatSinkSynthetic", dependencies: ["StatSinkModel"], swiftSettings: strictSettings),
        .target(
            name: "StatSinkTestKit",
            dependencies: ["StatSinkModel", "StatSinkCodec", "StatSinkProtobuf", "StatSinkSynthetic"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "statsink",
            dependencies: ["StatSink", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "StatSinkMockBroker",
            dependencies: ["StatSinkKafka"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "StatSinkHarness",
            dependencies: [
                "StatSinkKafka", "StatSinkQueue", "StatSinkSynthetic", "StatSinkTestKit", "CSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "StatSinkExampleApp",
            dependencies: [
                "StatSink", "StatSinkConfig", "StatSinkMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "StatSinkBenchmarks",
            dependencies: [
                "StatSinkModel", "StatSinkCodec", "StatSinkProtobuf", "StatSinkTestKit", "StatSink", "StatSinkConfig",
                "StatSinkKafka", "StatSinkQueue", "StatSinkSynthetic", "StatSinkMetrics", "CSQLite",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "StatSinkModelTests", dependencies: ["StatSinkModel"], swiftSettings: strictSettings),
        .testTarget(
            name: "StatSinkCodecTests",
            dependencies: ["StatSinkModel", "StatSinkCodec", "StatSinkProtobuf", "StatSinkTestKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StatSinkConfigTests",
            dependencies: ["StatSinkConfig", "StatSinkModel", "StatSinkCodec"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StatSinkKafkaTests",
            dependencies: ["StatSinkKafka", "CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StatSinkQueueTests",
            dependencies: ["StatSinkQueue", "StatSinkCodec", "StatSinkModel", "StatSinkSynthetic", "StatSinkTestKit", "CSQLite"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StatSinkMetricsTests",
            dependencies: [
                "StatSinkMetrics", "StatSink", "StatSinkConfig", "StatSinkQueue", "StatSinkModel",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StatSinkTests",
            dependencies: [
                "StatSink", "StatSinkConfig", "StatSinkKafka", "StatSinkQueue", "StatSinkCodec", "StatSinkModel",
                "StatSinkTestKit", "StatSinkAdmin", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
