import Foundation

/// A tiny GeoIP database in the MaxMind DB format, written by MaxMind's own Perl writer
/// (MaxMind::DB::Writer, Debian's libmaxmind-db-writer-perl, which Scripts/test.sh installs):
/// 127.0.0.2 is in Germany, 127.0.0.3 in the United States, 127.0.0.4 only *registered* in Australia
/// (no `country`, so the lookup falls back to `registered_country`), 127.0.0.5 in New Zealand.
/// 127.0.0.1 is in no country. An IPv6 tree with the IPv4 space aliased, as MaxMind's own files are;
/// loopback kept in (the writer drops reserved networks by default).
public enum GeoIPTestDatabase {
    public static let script = """
        use strict; use warnings;
        use MaxMind::DB::Writer::Tree;
        my %types = (country => 'map', registered_country => 'map', iso_code => 'utf8_string');
        my $tree = MaxMind::DB::Writer::Tree->new(
            ip_version => 6, record_size => 24, database_type => 'Canopy-Test-Country',
            languages => ['en'], description => { en => 'Canopy test countries' },
            remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 1,
            map_key_type_callback => sub { $types{ $_[0] } },
        );
        $tree->insert_network('127.0.0.2/32', { country => { iso_code => 'DE' } });
        $tree->insert_network('127.0.0.3/32', { country => { iso_code => 'US' } });
        $tree->insert_network('127.0.0.4/32', { registered_country => { iso_code => 'AU' } });
        $tree->insert_network('127.0.0.5/32', { country => { iso_code => 'NZ' } });
        open my $out, '>:raw', $ARGV[0] or die "cannot write $ARGV[0]: $!";
        $tree->write_tree($out);
        close $out or die;
        """

    public static let germany = "127.0.0.2"
    public static let unitedStates = "127.0.0.3"
    public static let australia = "127.0.0.4"
    public static let newZealand = "127.0.0.5"
    public static let nowhere = "127.0.0.1"

    /// Writes the database into `folder`; returns its path. Fails (never skips) when perl or the
    /// writer is missing.
    public static func write(into folder: String) throws -> String {
        let script = folder + "/write-mmdb.pl"
        let path = folder + "/countries.mmdb"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        let (status, output) = try runProcess(["perl", script, path])
        guard status == 0 else {
            throw TestFailure(
                "writing the test GeoIP database needs perl with MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl; Scripts/test.sh installs it); perl said:\n"
                    + String(decoding: output, as: UTF8.self))
        }
        return path
    }
}
