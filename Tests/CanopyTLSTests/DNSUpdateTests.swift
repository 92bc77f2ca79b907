import CanopyTestSupport
import Foundation
import Testing

@testable import CanopyTLS

extension CanopyTLSEndToEnd {
    /// RFC 2136 updates with TSIG against a real BIND: records really appear and disappear, and a
    /// server that refuses says why.
    @Suite(.enabled(if: DNSNamed.available, "needs bind9's named (Scripts/test.sh installs it)"))
    struct DNSUpdateTests {
        func withNamed(_ body: (DNSNamed) async throws -> Void) async throws {
            let named = try await DNSNamed()
            defer { named.stop() }
            do {
                try await body(named)
            } catch {
                Issue.record("named log:\n\(named.log)")
                throw error
            }
        }

        @Test(arguments: [DNSProtocol.tcp, .udp], [false, true])
        func addAndDeleteATXTRecordSignedWithTSIG(transport: DNSProtocol, sha512: Bool) async throws {
            try await withNamed { named in
                let client = named.client(key: sha512 ? named.key512 : named.key256, transport: transport)
                let name = "_acme-challenge.www.example.test"
                #expect(try await client.findZone(for: name) == "example.test")
                try await client.addTXT(name: name, value: "first")
                try await client.addTXT(name: name, value: "second")
                #expect(Set(try await client.txtValues(name)) == ["first", "second"])
                try await client.deleteTXT(name: name, value: "first")
                #expect(try await client.txtValues(name) == ["second"])
                try await client.deleteTXT(name: name, value: "second")
                #expect(try await client.txtValues(name).isEmpty)
            }
        }

        @Test func aCNAMEDelegationIsFollowedIntoTheOtherZone() async throws {
            try await withNamed { named in
                let client = named.client(key: named.key256)
                let target = try await client.followCNAME("_acme-challenge.cname.example.test")
                #expect(target == "cname-challenge.acme-delegate.test")
                #expect(try await client.findZone(for: target) == "acme-delegate.test")
                #expect(
                    try await client.followCNAME("_acme-challenge.www.example.test")
                        == "_acme-challenge.www.example.test")
            }
        }

        @Test func aWrongSecretIsBADSIGAndAnUnknownKeyIsBADKEY() async throws {
            try await withNamed { named in
                var wrongSecret = named.key256
                wrongSecret.secret = DNSNamed.randomBytes(32)
                let badSig = await #expect(throws: DNSError.self) {
                    try await named.client(key: wrongSecret).addTXT(
                        name: "x.example.test", value: "v", zone: "example.test")
                }
                #expect(badSig?.description.contains("BADSIG") == true, "\(String(describing: badSig))")
                #expect(badSig?.description.contains("keySecret") == true)

                let unknown = TSIGKey(name: "nobody", algorithm: .hmacSHA256, secret: named.key256.secret)
                let badKey = await #expect(throws: DNSError.self) {
                    try await named.client(key: unknown).addTXT(
                        name: "x.example.test", value: "v", zone: "example.test")
                }
                #expect(badKey?.description.contains("BADKEY") == true, "\(String(describing: badKey))")
                #expect(badKey?.description.contains("nobody") == true)
            }
        }

        @Test func aZoneWithoutAllowUpdateIsREFUSEDAndUnsignedUpdatesToo() async throws {
            try await withNamed { named in
                let refused = await #expect(throws: DNSError.self) {
                    try await named.client(key: named.key256).addTXT(name: "_acme-challenge.locked.test", value: "v")
                }
                #expect(refused?.description.contains("REFUSED") == true, "\(String(describing: refused))")
                #expect(refused?.description.contains("allow-update") == true)
                let unsigned = await #expect(throws: DNSError.self) {
                    try await named.client(key: nil).addTXT(name: "_acme-challenge.www.example.test", value: "v")
                }
                #expect(unsigned?.description.contains("REFUSED") == true, "\(String(describing: unsigned))")
            }
        }

        @Test func anUnreachableServerIsAConnectionError() async throws {
            let port = ACMETestPorts.free()
            let client = DNSUpdateClient(configuration: RFC2136Configuration(host: "127.0.0.1", port: port, key: nil))
            let error = await #expect(throws: DNSError.self) { try await client.txtValues("example.test") }
            #expect(error?.description.contains("127.0.0.1:\(port)") == true, "\(String(describing: error))")
        }
    }

    /// The answer's TSIG is checked: a real signed answer from BIND verifies, and the same bytes with
    /// one flipped bit or checked with another secret do not.
    @Suite(.enabled(if: DNSNamed.available, "needs bind9's named (Scripts/test.sh installs it)"))
    struct DNSTSIGVerificationTests {
        @Test func aTamperedOrForeignSignedAnswerIsRejected() async throws {
            let named = try await DNSNamed()
            defer { named.stop() }
            var query = DNSMessage(id: 4242, flags: 0)
            query.questions = [DNSRecord(name: "example.test", type: DNSMessage.RecordType.soa.rawValue)]
            let (bytes, mac) = TSIG.sign(query, key: named.key256)
            let answer = try await DNSTransport(host: "127.0.0.1", port: named.port).exchange(bytes)
            let message = try DNSMessage.decode(answer)
            #expect(message.answers.first?.type == DNSMessage.RecordType.soa.rawValue)
            try TSIG.verify(response: answer, message: message, requestMAC: mac, key: named.key256, server: "named")

            var tampered = answer
            tampered[message.answers[0].offset + 20] ^= 0x01
            #expect(throws: DNSError.self) {
                try TSIG.verify(
                    response: tampered, message: try DNSMessage.decode(tampered), requestMAC: mac, key: named.key256,
                    server: "named")
            }
            var foreign = named.key256
            foreign.secret = DNSNamed.randomBytes(32)
            #expect(throws: DNSError.self) {
                try TSIG.verify(response: answer, message: message, requestMAC: mac, key: foreign, server: "named")
            }
        }
    }
}
