"""Where this project works around Faust and aiokafka internals, in one place so a Faust upgrade knows what to check.

- ``offsets``: where a partition is read from after a rebalance (Faust and aiokafka could skip input messages);
- ``fetches``: the input reaches the scorecard a whole fetch at a time, not through Faust's per-message streams;
  commits, rebalances and Faust's liveness checks follow the batches;
- ``delivery``: the consumer hands any other message (the changelog during recovery) to Faust's streams directly
  when that cannot block (Faust's per-message race is its largest single cost); a verbatim copy of Faust's loop,
  checked against the installed one by a test;
- ``table``: the ``units`` table partitioned by unit, written as raw bytes, its changelog writes awaited;
- ``runner``: Faust's worker without the spinner that keeps logging at DEBUG, with a bounded stop, and with
  aiokafka's repeated connection errors summarised.

Each module's docstring says what goes wrong without it and which test shows it.
"""
