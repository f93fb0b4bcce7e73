"""Shared set-up for the talking-half tests: a retriever over the temp corpus with the fakes."""

from coach.retrieval import index
from coach.retrieval.retriever import Retriever


def make_retriever(cfg, embedder, store):
    index.build_index(cfg, embedder, store)
    return Retriever(index.load_saved(cfg), embedder, store, cfg.retrieval)


STRONG_TCP = ("The initiator sends FIN and enters FIN_WAIT_1; the receiver sends ACK and enters CLOSE_WAIT. "
              "TIME_WAIT exists so that delayed packets do not corrupt new connections on the same tuple. "
              "Tuning: net.ipv4.tcp_tw_reuse lets new outbound connections reuse TIME_WAIT sockets.")
OFF_TOPIC = ("Kafka consumer groups split partitions among the consumers of a group, and log segments "
             "are deleted after retention.ms so the brokers keep a bounded amount of data on disk.")


def last(gen):
    """The final item a generator yields (a Gradio callback's last update)."""
    out = None
    for out in gen:
        pass
    return out
