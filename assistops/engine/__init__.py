"""The engine: live state, diff, plan and apply, driving the resource kinds of the registry.

    live        provider               -> LiveState         (each kind discovers its objects)
    diff        two projections        -> field changes     (deepdiff lives here only)
    planner     desired + live         -> Plan              (each kind plans its resources)
    plan        the Plan model         steps in apply's order, phases from the registry
    apply       Plan + writer          -> changes           (each step runs itself)
    saved_plan  a plan file            refused once stale
    locking     one apply at a time on a local database
    options     PlanOptions, ApplyOptions

The engine imports the kinds; the kinds never import the engine (see ``ARCHITECTURE.md``).
"""
