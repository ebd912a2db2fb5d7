"""The fixed vocabularies a scene reading is expressed in: scenarios and the facts fault rules use.

Every scene backend (the OpenAI-compatible video-LLM, the embedded model) must answer in these terms,
so the fault rules table can key on them and a regulator can read them.
"""

from __future__ import annotations

from enum import StrEnum


class Scenario(StrEnum):
    REAR_END_STRUCK = "rear_end_struck"  # the ego vehicle is hit from behind
    REAR_END_STRIKING = "rear_end_striking"  # the ego vehicle hits the vehicle ahead
    LANE_CHANGE = "lane_change"
    INTERSECTION = "intersection"
    HEAD_ON = "head_on"
    SINGLE_VEHICLE = "single_vehicle"
    PARKING = "parking"
    NEAR_MISS = "near_miss"
    NONE = "none"


class Fact(StrEnum):
    """Observations that move fault; a reading lists the ones it saw, each with evidence timestamps."""

    LEAD_VEHICLE_STOPPED = "lead_vehicle_stopped"
    LEAD_SUDDEN_BRAKING_UNEXPLAINED = "lead_sudden_braking_unexplained"
    EGO_SUDDEN_BRAKING_UNEXPLAINED = "ego_sudden_braking_unexplained"
    EGO_CHANGED_LANE = "ego_changed_lane"
    OTHER_CHANGED_LANE = "other_changed_lane"
    EGO_HAD_RIGHT_OF_WAY = "ego_had_right_of_way"
    OTHER_HAD_RIGHT_OF_WAY = "other_had_right_of_way"
    EGO_CROSSED_CENTRE_LINE = "ego_crossed_centre_line"
    OTHER_CROSSED_CENTRE_LINE = "other_crossed_centre_line"
    EGO_REVERSING = "ego_reversing"
    OTHER_REVERSING = "other_reversing"
    EGO_STATIONARY = "ego_stationary"
    EGO_SPEEDING = "ego_speeding"
