// The campaign results chart: revenue per member and visit rate, treated against control.
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("campaign-chart");
    var source = document.getElementById("campaign-chart-data");
    if (!node || !source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    if (!data) { return; }
    var chart = window.echarts.init(node, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [data.title, data.visit_title] },
      xAxis: { type: "category", data: data.labels },
      yAxis: [{ type: "value", name: data.title }, { type: "value", name: data.visit_title, max: 1 }],
      series: [
        { name: data.title, type: "bar", data: data.revenue_per_member.map(Number) },
        { name: data.visit_title, type: "bar", yAxisIndex: 1, data: data.visit_rate }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
}());
