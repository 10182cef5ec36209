/*
 * A flat C face for the parts of DPDK that rovs uses.
 *
 * DPDK's fast-path functions (rx/tx bursts, mbuf helpers) are static inline in its
 * headers, and its configuration functions take structs whose layout changes between
 * releases.  This file turns both into plain functions over integers, byte buffers and
 * opaque pointers, so the Rust side (netdev/src/dpdk/sys.rs) never sees a DPDK struct
 * layout and a DPDK upgrade stays on this side.
 *
 * Conventions: functions return 0 or a count on success and a negative errno on failure.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

int rovs_errno(void)
{
    return rte_errno;
}

int rovs_eal_init(int argc, char **argv)
{
    int rc = rte_eal_init(argc, argv);
    return rc < 0 ? -rte_errno : rc;
}

/* Gives the calling thread an lcore id, so that it uses the mempools' per-lcore caches
 * (a thread without one takes every mbuf from the shared ring).  Returns 1 if it
 * registered the thread, 0 if the thread had an lcore id already, a negative errno if
 * none is free (the thread then works without a cache). */
int rovs_thread_register(void)
{
    if (rte_lcore_id() != LCORE_ID_ANY) {
        return 0;
    }
    return rte_thread_register() == 0 ? 1 : -rte_errno;
}

/* Gives the lcore id of a thread registered by rovs_thread_register back. */
void rovs_thread_unregister(void)
{
    rte_thread_unregister();
}

/* Probes `devargs` and stores the ethdev port id of device `name` in `*port`.
 * A device already probed is looked up. */
int rovs_port_attach(const char *devargs, const char *name, uint16_t *port)
{
    int rc = rte_dev_probe(devargs);
    if (rc < 0 && rc != -EEXIST) {
        return rc;
    }
    if (rte_eth_dev_get_port_by_name(name, port) != 0) {
        return -ENODEV;
    }
    return 0;
}

/* Stops, closes and removes the device behind `port`. */
int rovs_port_detach(uint16_t port)
{
    struct rte_eth_dev_info info;
    struct rte_device *dev;
    int rc;

    memset(&info, 0, sizeof info);
    rc = rte_eth_dev_info_get(port, &info);
    if (rc < 0) {
        return rc;
    }
    dev = info.device;
    (void) rte_eth_dev_stop(port);
    rc = rte_eth_dev_close(port);
    if (rc < 0) {
        return rc;
    }
    return dev ? rte_dev_remove(dev) : 0;
}

/* Device facts: driver name (NUL-terminated, truncated to `cap`), queue limits, MTU
 * range, bound kernel interface index. */
int rovs_port_info(uint16_t port, char *driver, uint32_t cap, uint16_t *max_rxq,
                   uint16_t *max_txq, uint32_t *min_mtu, uint32_t *max_mtu,
                   uint32_t *if_index)
{
    struct rte_eth_dev_info info;
    int rc;

    memset(&info, 0, sizeof info);
    rc = rte_eth_dev_info_get(port, &info);
    if (rc < 0) {
        return rc;
    }
    if (cap > 0) {
        const char *d = info.driver_name ? info.driver_name : "";
        strncpy(driver, d, cap - 1);
        driver[cap - 1] = '\0';
    }
    *max_rxq = info.max_rx_queues;
    *max_txq = info.max_tx_queues;
    *min_mtu = info.min_mtu;
    *max_mtu = info.max_mtu;
    *if_index = info.if_index;
    return 0;
}

/* Configures the stopped `port` with `n_rxq` receive and `n_txq` transmit queues of
 * `n_desc` descriptors, receiving into `pool`, and starts it. */
int rovs_port_start(uint16_t port, uint16_t n_rxq, uint16_t n_txq, uint16_t n_desc,
                    void *pool)
{
    struct rte_eth_conf conf;
    int socket = rte_eth_dev_socket_id(port);
    int rc;

    if (socket < 0) {
        socket = SOCKET_ID_ANY;
    }
    memset(&conf, 0, sizeof conf);
    rc = rte_eth_dev_configure(port, n_rxq, n_txq, &conf);
    if (rc < 0) {
        return rc;
    }
    for (uint16_t q = 0; q < n_rxq; q++) {
        rc = rte_eth_rx_queue_setup(port, q, n_desc, (unsigned) socket, NULL,
                                    (struct rte_mempool *) pool);
        if (rc < 0) {
            return rc;
        }
    }
    for (uint16_t q = 0; q < n_txq; q++) {
        rc = rte_eth_tx_queue_setup(port, q, n_desc, (unsigned) socket, NULL);
        if (rc < 0) {
            return rc;
        }
    }
    return rte_eth_dev_start(port);
}

int rovs_port_stop(uint16_t port)
{
    return rte_eth_dev_stop(port);
}

int rovs_promisc(uint16_t port, int on)
{
    return on ? rte_eth_promiscuous_enable(port) : rte_eth_promiscuous_disable(port);
}

int rovs_mac_get(uint16_t port, uint8_t mac[6])
{
    struct rte_ether_addr a;
    int rc = rte_eth_macaddr_get(port, &a);
    if (rc == 0) {
        memcpy(mac, a.addr_bytes, 6);
    }
    return rc;
}

int rovs_mac_set(uint16_t port, const uint8_t mac[6])
{
    struct rte_ether_addr a;
    memcpy(a.addr_bytes, mac, 6);
    return rte_eth_dev_default_mac_addr_set(port, &a);
}

int rovs_mtu_get(uint16_t port, uint16_t *mtu)
{
    return rte_eth_dev_get_mtu(port, mtu);
}

int rovs_mtu_set(uint16_t port, uint16_t mtu)
{
    return rte_eth_dev_set_mtu(port, mtu);
}

/* Link state: speed in Mbit/s (0 unknown), full duplex, autoneg, up. */
int rovs_link_get(uint16_t port, uint32_t *speed, int *full_duplex, int *autoneg, int *up)
{
    struct rte_eth_link link;
    int rc;

    memset(&link, 0, sizeof link);
    rc = rte_eth_link_get_nowait(port, &link);
    if (rc < 0) {
        return rc;
    }
    *speed = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
    *full_duplex = link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
    *autoneg = link.link_autoneg == RTE_ETH_LINK_AUTONEG;
    *up = link.link_status == RTE_ETH_LINK_UP;
    return 0;
}

/* Basic counters, in this order: ipackets, opackets, ibytes, obytes, imissed, ierrors,
 * oerrors, rx_nombuf. */
int rovs_stats_get(uint16_t port, uint64_t out[8])
{
    struct rte_eth_stats s;
    int rc;

    memset(&s, 0, sizeof s);
    rc = rte_eth_stats_get(port, &s);
    if (rc < 0) {
        return rc;
    }
    out[0] = s.ipackets;
    out[1] = s.opackets;
    out[2] = s.ibytes;
    out[3] = s.obytes;
    out[4] = s.imissed;
    out[5] = s.ierrors;
    out[6] = s.oerrors;
    out[7] = s.rx_nombuf;
    return 0;
}

/* Extended counters: writes up to `n` entries, each a NUL-terminated name in a
 * `name_len`-byte slot of `names` and a value in `values`; returns how many the device
 * has (call again with more room if that is more than `n`). */
int rovs_xstats_get(uint16_t port, char *names, uint32_t name_len, uint64_t *values,
                    uint32_t n)
{
    int total = rte_eth_xstats_get_names(port, NULL, 0);
    struct rte_eth_xstat_name *xn;
    struct rte_eth_xstat *xv;
    int got_names, got_values;

    if (total <= 0 || n == 0) {
        return total;
    }
    xn = calloc((size_t) total, sizeof *xn);
    xv = calloc((size_t) total, sizeof *xv);
    if (!xn || !xv) {
        free(xn);
        free(xv);
        return -ENOMEM;
    }
    got_names = rte_eth_xstats_get_names(port, xn, (unsigned) total);
    got_values = rte_eth_xstats_get(port, xv, (unsigned) total);
    if (got_names < 0 || got_values < 0) {
        free(xn);
        free(xv);
        return got_names < 0 ? got_names : got_values;
    }
    for (int i = 0; i < got_values && (uint32_t) i < n; i++) {
        uint64_t id = xv[i].id;
        const char *name = id < (uint64_t) got_names ? xn[id].name : "";
        if (name_len > 0) {
            strncpy(names + (size_t) i * name_len, name, name_len - 1);
            names[(size_t) i * name_len + name_len - 1] = '\0';
        }
        values[i] = xv[i].value;
    }
    free(xn);
    free(xv);
    return got_values;
}

void *rovs_pool_create(const char *name, uint32_t n, uint16_t data_room, int socket)
{
    return rte_pktmbuf_pool_create(name, n, 256, 0, data_room,
                                   socket < 0 ? SOCKET_ID_ANY : socket);
}

void rovs_pool_free(void *pool)
{
    rte_mempool_free((struct rte_mempool *) pool);
}

/* Receives up to `n` packets into `mbufs` (opaque pointers). */
uint16_t rovs_rx_burst(uint16_t port, uint16_t q, void **mbufs, uint16_t n)
{
    return rte_eth_rx_burst(port, q, (struct rte_mbuf **) mbufs, n);
}

uint32_t rovs_mbuf_len(const void *m)
{
    return rte_pktmbuf_pkt_len((const struct rte_mbuf *) m);
}

/* Copies the packet of `m` (every segment) into `dst`, at most `cap` bytes; returns how
 * many were copied. */
uint32_t rovs_mbuf_copy(const void *m, uint8_t *dst, uint32_t cap)
{
    const struct rte_mbuf *seg = (const struct rte_mbuf *) m;
    uint32_t done = 0;

    for (; seg && done < cap; seg = seg->next) {
        uint32_t len = seg->data_len;
        if (len > cap - done) {
            len = cap - done;
        }
        memcpy(dst + done, rte_pktmbuf_mtod(seg, const uint8_t *), len);
        done += len;
    }
    return done;
}

void rovs_mbuf_free_bulk(void **mbufs, uint32_t n)
{
    rte_pktmbuf_free_bulk((struct rte_mbuf **) mbufs, n);
}

/* Copies `n` frames (`data[i]`, `lens[i]` bytes) into mbufs from `pool` and transmits
 * them on queue `q`.  The first segments come from the pool in one bulk operation;
 * frames longer than one mbuf are chained.  Returns how many the device took; the rest
 * are freed (dropped). */
uint16_t rovs_tx_copy_burst(uint16_t port, uint16_t q, void *pool,
                            const uint8_t *const *data, const uint32_t *lens, uint16_t n)
{
    struct rte_mempool *mp = (struct rte_mempool *) pool;
    struct rte_mbuf *heads[64];
    struct rte_mbuf *pkts[64];
    uint16_t built = 0, sent;

    if (n > 64) {
        n = 64;
    }
    if (n == 0 || rte_pktmbuf_alloc_bulk(mp, heads, n) != 0) {
        return 0;
    }
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *head = heads[i], *tail = head;
        uint32_t off = 0;
        int ok = 1;

        while (off < lens[i]) {
            uint32_t room = rte_pktmbuf_tailroom(tail);
            uint32_t len = lens[i] - off < room ? lens[i] - off : room;
            char *p;

            if (len == 0) {
                struct rte_mbuf *seg = rte_pktmbuf_alloc(mp);
                if (!seg || rte_pktmbuf_chain(head, seg) != 0) {
                    rte_pktmbuf_free(seg);
                    ok = 0;
                    break;
                }
                tail = seg;
                continue;
            }
            /* Appends to the last segment, `tail`, and counts it in the head. */
            p = rte_pktmbuf_append(head, (uint16_t) len);
            if (!p) {
                ok = 0;
                break;
            }
            memcpy(p, data[i] + off, len);
            off += len;
        }
        if (!ok) {
            rte_pktmbuf_free(head);
            continue;
        }
        pkts[built++] = head;
    }
    sent = rte_eth_tx_burst(port, q, pkts, built);
    if (sent < built) {
        rte_pktmbuf_free_bulk(&pkts[sent], built - sent);
    }
    return sent;
}
