#ifndef CANOPY_CMAXMINDDB_SHIM_H
#define CANOPY_CMAXMINDDB_SHIM_H
#include <maxminddb.h>
#include <netinet/in.h>
#include <string.h>

/// The ISO 3166 code of the country `address` is in, as a MaxMind DB (GeoLite2-Country,
/// dbip-country-lite, …) records it: `country.iso_code`, else `registered_country.iso_code`.
/// Writes at most 3 bytes and a NUL into `code`; returns the code's length, 0 when the database has
/// no country for the address, or -1 when the lookup failed (an IPv6 address in an IPv4 database).
/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, a dual-stack listener's IPv4 peer) is looked up
/// as the IPv4 address it is. Reads the database only (libmaxminddb's lookups on a shared, opened
/// MMDB_s are thread-safe), and allocates nothing: this is a C function because MMDB_get_value is
/// variadic, which Swift cannot call.
static inline int canopy_mmdb_country(const MMDB_s *db, const struct sockaddr *address, char code[4]) {
    struct sockaddr_in unmapped;
    if (address->sa_family != AF_INET && address->sa_family != AF_INET6) return 0;  // a Unix socket's peer
    if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *six = (const struct sockaddr_in6 *)address;
        if (IN6_IS_ADDR_V4MAPPED(&six->sin6_addr)) {
            memset(&unmapped, 0, sizeof unmapped);
            unmapped.sin_family = AF_INET;
            memcpy(&unmapped.sin_addr, &six->sin6_addr.s6_addr[12], 4);
            address = (const struct sockaddr *)&unmapped;
        }
    }
    int error = MMDB_SUCCESS;
    MMDB_lookup_result_s result = MMDB_lookup_sockaddr(db, address, &error);
    if (error != MMDB_SUCCESS) return -1;
    if (!result.found_entry) return 0;
    static const char *const country[] = {"country", "iso_code", NULL};
    static const char *const registered[] = {"registered_country", "iso_code", NULL};
    const char *const *paths[] = {country, registered};
    for (int i = 0; i < 2; i++) {
        MMDB_entry_data_s data;
        if (MMDB_aget_value(&result.entry, &data, paths[i]) != MMDB_SUCCESS) continue;
        if (!data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING) continue;
        if (data.data_size == 0 || data.data_size > 3) continue;
        memcpy(code, data.utf8_string, data.data_size);
        code[data.data_size] = 0;
        return (int)data.data_size;
    }
    return 0;
}

#endif
