// The charting library, trimmed to what the dashboard draws: bar charts, doughnuts and heat-maps (matrix).
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
} from "chart.js";
import { MatrixController, MatrixElement } from "chartjs-chart-matrix";

Chart.register(
  ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale, Tooltip,
  MatrixController, MatrixElement,
);

window.Chart = Chart;
