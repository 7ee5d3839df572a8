// Renderers for the capacity-planning report (data from loadtest/model buildPlanReport).
export { renderHtml } from './html.js';
export { renderMarkdown } from './markdown.js';
export { siteLoadChart, nodeDistributionCharts, cascadeTimelineChart, compactQps } from './svg.js';
