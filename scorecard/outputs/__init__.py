"""What the scorecard is turned into: Prometheus metrics, alert rules and routes, Grafana boards, the HTML report,
the terminal table and board, and the small HTTP server the exporter and the worker's metrics share.

Names that several outputs must agree on (metric names, status codes, board uids) live in ``scorecard.contract``.
"""
