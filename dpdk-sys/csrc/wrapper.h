/* The DPDK headers rvswitch binds (bindgen input), plus a few helpers of our
 * own for things bindgen cannot express (thread-local rte_errno). */
#include <rte_config.h>
#include <rte_errno.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>
#include <rte_vhost.h>

/* rte_errno is a thread-local variable, which bindgen cannot bind. */
int rvs_rte_errno(void);
void rvs_set_rte_errno(int value);

/* RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP (function-like macros
 * that bindgen cannot evaluate). */
uint64_t rvs_eth_rss_ip_tcp_udp(void);
/* RTE_ETH_RX_OFFLOAD_RSS_HASH. */
uint64_t rvs_eth_rx_offload_rss_hash(void);
