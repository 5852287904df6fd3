"""Never imported by the engine: its path is used as a workflow and activity *name*.

A test fails if this module shows up in `sys.modules`, which would mean the
engine resolved a name read from the store by importing it.
"""

IMPORTED = True
