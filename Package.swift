// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "canopy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "canopy", targets: ["canopy"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.1.0"),
    ],
    targets: [
        // MARK: C shims
        .systemLibrary(
            name: "CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CMaxMindDB",
            pkgConfig: "libmaxminddb",
            providers: [.apt(["libmaxminddb-dev"])]
        ),

        // MARK: Library modules (see ../shared/DESIGN.md for what each may import)
        .target(
            name: "CanopySpec",
            dependencies: [
                .product(name: "Yams", package: "Yams"), .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(
            name: "CanopyGit",
            dependencies: ["CGit2"]
        ),
        .target(
            name: "CanopyBuild",
            dependencies: ["CanopySpec", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "CanopyStore",
            dependencies: [
                "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "CanopyTLS",
            dependencies: [
                "CanopySpec",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "CanopyEdge",
            dependencies: [
                "CanopySpec", "CanopyStore", "CanopyTLS", "CMaxMindDB",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "CanopyAdminAPI",
            dependencies: ["CanopySpec", "CanopyStore"]
        ),
        .target(
            name: "CanopyControl",
            dependencies: [
                "CanopyAdminAPI", "CanopySpec", "CanopyGit", "CanopyBuild", "CanopyStore", "CanopyEdge", "CanopyTLS",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["Admin/openapi.yaml"]
        ),
        .target(
            name: "CanopyClient",
            dependencies: [
                "CanopyAdminAPI", "CanopyBuild", "CanopyGit", "CanopySpec",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "canopy",
            dependencies: [
                "CanopyAdminAPI", "CanopyClient", "CanopyControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(
            name: "CanopyFuzzing",
            dependencies: [
                "CanopyEdge", "CanopySpec", "CanopyStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "canopy-fuzz", dependencies: ["CanopyFuzzing"]),

        .executableTarget(
            name: "canopy-bench-routing",
            dependencies: [
                "CanopyControl", "CanopyEdge", "CanopySpec", "CanopyStore", "CanopyTLS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .executableTarget(
            name: "canopy-bench-serve",
            dependencies: [
                "CanopyEdge", "CanopyStore", "CanopyTLS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Tests
        // Shared by the test targets: the raw HTTP client, the process runner, temporary folders.
        // The ACME test servers (pebble, pebble-challtestsrv, named) are shared by the TLS and end-to-end tests.
        .target(
            name: "CanopyTestSupport",
            dependencies: [
                "CanopyTLS",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/CanopyTestSupport"
        ),
        .testTarget(name: "CanopySpecTests", dependencies: ["CanopySpec"]),
        .testTarget(name: "CanopyGitTests", dependencies: ["CanopyGit", "CanopyTestSupport"]),
        .testTarget(
            name: "CanopyBuildTests",
            dependencies: [
                "CanopyBuild", "CanopySpec", "CanopyTestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CanopyStoreTests", dependencies: ["CanopyStore", "CanopyTestSupport"]),
        .testTarget(
            name: "CanopyTLSTests",
            dependencies: [
                "CanopyTLS", "CanopyTestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "CanopyEdgeTests",
            dependencies: [
                "CanopyEdge", "CanopyTestSupport",
                "CanopyStore",
                "CanopySpec",
                "CanopyTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(
            name: "CanopyControlTests",
            dependencies: [
                "CanopyControl", "CanopyEdge", "CanopyGit", "CanopySpec", "CanopyStore", "CanopyTestSupport",
                "CanopyTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(name: "CanopyClientTests", dependencies: ["CanopyAdminAPI", "CanopyClient"]),
        .testTarget(
            name: "CanopyFuzzingTests", dependencies: ["CanopyFuzzing"], exclude: ["Corpus", "Regressions"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["CanopyTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
    ],
    swiftLanguageModes: [.v6]
)
