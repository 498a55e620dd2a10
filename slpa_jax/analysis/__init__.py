"""Expressivity and efficiency: dynamical Lie algebras, gradient commutation and F_eff, clique covers,
variance landscapes and the one-call analysis report.

Every public name of the modules behind this face is re-exported here."""

from .cliques import (
    check_graph,
    clique_cover_lower_bound,
    exact_clique_cover,
    greedy_clique_cover,
    max_clique,
)
from .dla import (
    DLA,
    DLAGraph,
    as_generator_table,
    dla_dimension,
    dla_graph,
    dynamical_lie_algebra,
)
from .efficiency import (
    DEFAULT_COMMUTATION_TOL,
    CliqueCover,
    TradeoffReport,
    asymptotic_f_eff,
    check_tradeoff,
    clique_cover,
    gradient_commutation_matrix,
    gradient_efficiency,
    gradient_operators,
    structural_commutation,
    tradeoff_bound,
)
from .landscape import (
    VarianceEstimate,
    expectation_samples,
    expectation_variance,
    variance_plateau,
)
from .report import (
    analyze_ansatz,
    ansatz_circuit,
    observable_from_text,
    pattern_period,
)

__all__ = [
    "check_graph",
    "max_clique",
    "greedy_clique_cover",
    "exact_clique_cover",
    "clique_cover_lower_bound",
    "DLA",
    "DLAGraph",
    "dynamical_lie_algebra",
    "dla_dimension",
    "dla_graph",
    "as_generator_table",
    "DEFAULT_COMMUTATION_TOL",
    "CliqueCover",
    "TradeoffReport",
    "gradient_operators",
    "gradient_commutation_matrix",
    "structural_commutation",
    "clique_cover",
    "gradient_efficiency",
    "asymptotic_f_eff",
    "tradeoff_bound",
    "check_tradeoff",
    "expectation_samples",
    "variance_plateau",
    "VarianceEstimate",
    "expectation_variance",
    "ansatz_circuit",
    "pattern_period",
    "analyze_ansatz",
    "observable_from_text",
]
