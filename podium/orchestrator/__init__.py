"""The nodes of the state machine: guards, planner, dispatcher/step, synthesizer; the plan
types, the run state, the events, and the semantic router that checks plans."""
