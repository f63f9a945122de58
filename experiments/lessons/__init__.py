"""The course's 16 lessons, one module each (``lessonNN_<topic>.py``); see
:mod:`experiments.core` for what a lesson module defines and
:mod:`experiments.registry` for running them."""
