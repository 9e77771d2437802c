// SPDX-License-Identifier: Apache-2.0
// VC707 board top: 200 MHz system clock, reset button, USB-UART host link, status LEDs, core.

`default_nettype none

module vc707_top #(
  parameter int ClkHz         = 200_000_000,  // SYSCLK frequency in Hz
  parameter int Baud          = 115_200,      // USB-UART bit rate
  parameter int HeartbeatLog2 = 27,           // LED 0 toggles every 2**HeartbeatLog2 cycles
  parameter int ActivityLog2  = 22,           // UART activity LEDs stay on 2**ActivityLog2 cycles
  // Core parameters (see rtl/neural_top.sv)
  parameter int Lanes       = 8,     // output channels per engine group, a multiple of 4
  parameter int MaxC        = 128,   // channels per spike word
  parameter int MaxSideLog2 = 5,     // largest map side is 1 << MaxSideLog2
  parameter int AccW        = 24,    // signed conv accumulator bits
  parameter int WRows       = 8192,  // weight store rows
  parameter int EngWRows    = 2048,  // weight rows of the largest single layer
  parameter int ThRows      = 256,   // threshold store rows
  parameter int Slots       = 4,     // spike-map slots
  parameter int ProgOps     = 32,    // layer program entries
  parameter int Classes     = 10,    // classifier outputs
  parameter int ClsHwLog2   = 2,     // largest last-map side (log2) the classifier takes
  parameter int ClsAccW     = 24,    // signed logit bits
  parameter int FifoDepth   = 4      // partial-sum elastic FIFO entries
) (
  input  wire logic       sys_clk_p_i,  // SYSCLK_P, 200 MHz LVDS
  input  wire logic       sys_clk_n_i,  // SYSCLK_N
  input  wire logic       cpu_reset_i,  // CPU_RESET push button, active high, asynchronous
  input  wire logic       uart_rx_i,    // serial data from the USB-UART bridge
  output logic            uart_tx_o,    // serial data to the USB-UART bridge
  output logic      [7:0] led_o         // GPIO_LED_0..7
);

  logic clk;
  vc707_clock u_clock (
    .clk_p_i(sys_clk_p_i),
    .clk_n_i(sys_clk_n_i),
    .clk_o  (clk)
  );

  // -----------------------------------------------------------------------------------------
  // Reset: the button is synchronised, then reset is held for 15 more cycles. The counter
  // starts at zero after configuration, so the design also resets itself at power-up.
  // Initial values are the configuration state of the flops (intended, hence the waiver).
  /* verilator lint_off PROCASSINIT */
  logic [1:0] btn_q  = 2'b11;
  logic [3:0] hold_q = 4'd0;
  logic       rst_q  = 1'b1;
  /* verilator lint_on PROCASSINIT */
  always_ff @(posedge clk) begin
    btn_q <= {btn_q[0], cpu_reset_i};
    if (btn_q[1]) begin
      hold_q <= '0;
    end else if (hold_q != 4'hF) begin
      hold_q <= hold_q + 1'b1;
    end
    rst_q <= btn_q[1] | (hold_q != 4'hF);
  end

  // -----------------------------------------------------------------------------------------
  // Host link and core
  logic [11:0] axil_awaddr, axil_araddr;
  logic [2:0]  axil_awprot, axil_arprot;
  logic        axil_awvalid, axil_awready, axil_wvalid, axil_wready, axil_bvalid, axil_bready;
  logic        axil_arvalid, axil_arready, axil_rvalid, axil_rready;
  logic [31:0] axil_wdata, axil_rdata;
  logic [3:0]  axil_wstrb;
  logic [1:0]  axil_bresp, axil_rresp;
  logic [31:0] in_tdata, out_tdata;
  logic        in_tvalid, in_tready, in_tlast, out_tvalid, out_tready, out_tlast;
  logic        rx_strobe, tx_busy, link_err;
  logic        busy, done, error, irq;

  uart_axi_bridge #(
    .ClkHz(ClkHz),
    .Baud (Baud),
    .AddrW(12)
  ) u_bridge (
    .clk_i         (clk),
    .rst_i         (rst_q),
    .uart_rx_i     (uart_rx_i),
    .uart_tx_o     (uart_tx_o),
    .m_axil_awaddr (axil_awaddr),
    .m_axil_awprot (axil_awprot),
    .m_axil_awvalid(axil_awvalid),
    .m_axil_awready(axil_awready),
    .m_axil_wdata  (axil_wdata),
    .m_axil_wstrb  (axil_wstrb),
    .m_axil_wvalid (axil_wvalid),
    .m_axil_wready (axil_wready),
    .m_axil_bresp  (axil_bresp),
    .m_axil_bvalid (axil_bvalid),
    .m_axil_bready (axil_bready),
    .m_axil_araddr (axil_araddr),
    .m_axil_arprot (axil_arprot),
    .m_axil_arvalid(axil_arvalid),
    .m_axil_arready(axil_arready),
    .m_axil_rdata  (axil_rdata),
    .m_axil_rresp  (axil_rresp),
    .m_axil_rvalid (axil_rvalid),
    .m_axil_rready (axil_rready),
    .m_axis_tdata  (in_tdata),
    .m_axis_tvalid (in_tvalid),
    .m_axis_tready (in_tready),
    .m_axis_tlast  (in_tlast),
    .s_axis_tdata  (out_tdata),
    .s_axis_tvalid (out_tvalid),
    .s_axis_tready (out_tready),
    .s_axis_tlast  (out_tlast),
    .rx_strobe_o   (rx_strobe),
    .tx_busy_o     (tx_busy),
    .link_err_o    (link_err)
  );

  // The weight port is idle (ExtMem = 0): its outputs only feed the check below.
  logic        ext_arid;
  logic [31:0] ext_araddr;
  logic [7:0]  ext_arlen;
  logic [2:0]  ext_arsize, ext_arprot;
  logic [1:0]  ext_arburst;
  logic [3:0]  ext_arcache;
  logic        ext_arvalid, ext_rready;
`ifndef SYNTHESIS
  // Checked out of reset only: until the first reset ends the core's state is unknown.
  always @(posedge clk) begin
    if (!rst_q) assert (!ext_arvalid && !ext_rready)
      else $fatal(1, "vc707_top: weight read %0d at %h (len %0d size %0d burst %0d cache %h %h)",
                  ext_arid, ext_araddr, ext_arlen, ext_arsize, ext_arburst, ext_arcache,
                  ext_arprot);
  end
`endif

  neural_top #(
    .Lanes      (Lanes),
    .MaxC       (MaxC),
    .MaxSideLog2(MaxSideLog2),
    .AccW       (AccW),
    .WRows      (WRows),
    .EngWRows   (EngWRows),
    .ThRows     (ThRows),
    .Slots      (Slots),
    .ProgOps    (ProgOps),
    .Classes    (Classes),
    .ClsHwLog2  (ClsHwLog2),
    .ClsAccW    (ClsAccW),
    .FifoDepth  (FifoDepth),
    // TODO: a MIG DDR3 controller on the AXI4 weight port; until then every op keeps its
    // weights on chip and the core refuses ops marked external (error 5).
    .ExtMem     (0)
  ) u_core (
    .clk_i         (clk),
    .rst_i         (rst_q),
    .s_axil_awaddr (axil_awaddr),
    .s_axil_awprot (axil_awprot),
    .s_axil_awvalid(axil_awvalid),
    .s_axil_awready(axil_awready),
    .s_axil_wdata  (axil_wdata),
    .s_axil_wstrb  (axil_wstrb),
    .s_axil_wvalid (axil_wvalid),
    .s_axil_wready (axil_wready),
    .s_axil_bresp  (axil_bresp),
    .s_axil_bvalid (axil_bvalid),
    .s_axil_bready (axil_bready),
    .s_axil_araddr (axil_araddr),
    .s_axil_arprot (axil_arprot),
    .s_axil_arvalid(axil_arvalid),
    .s_axil_arready(axil_arready),
    .s_axil_rdata  (axil_rdata),
    .s_axil_rresp  (axil_rresp),
    .s_axil_rvalid (axil_rvalid),
    .s_axil_rready (axil_rready),
    .s_axis_tdata  (in_tdata),
    .s_axis_tvalid (in_tvalid),
    .s_axis_tready (in_tready),
    .s_axis_tlast  (in_tlast),
    .m_axis_tdata  (out_tdata),
    .m_axis_tvalid (out_tvalid),
    .m_axis_tready (out_tready),
    .m_axis_tlast  (out_tlast),
    .m_axi_arid    (ext_arid),
    .m_axi_araddr  (ext_araddr),
    .m_axi_arlen   (ext_arlen),
    .m_axi_arsize  (ext_arsize),
    .m_axi_arburst (ext_arburst),
    .m_axi_arcache (ext_arcache),
    .m_axi_arprot  (ext_arprot),
    .m_axi_arvalid (ext_arvalid),
    .m_axi_arready (1'b0),
    .m_axi_rid     (1'b0),
    .m_axi_rdata   ('0),
    .m_axi_rresp   (2'b00),
    .m_axi_rlast   (1'b0),
    .m_axi_rvalid  (1'b0),
    .m_axi_rready  (ext_rready),
    .busy_o        (busy),
    .done_o        (done),
    .error_o       (error),
    .irq_o         (irq)
  );

  // -----------------------------------------------------------------------------------------
  // Status LEDs: 0 heartbeat, 1 busy, 2 done, 3 core error, 4 link error (framing/overrun),
  // 5 receiving, 6 sending, 7 interrupt.
  logic [HeartbeatLog2-1:0] beat_q;
  logic [ActivityLog2-1:0]  rx_led_q, tx_led_q;
  logic [7:0]               led_q;

  always_ff @(posedge clk) begin
    if (rst_q) begin
      beat_q   <= '0;
      rx_led_q <= '0;
      tx_led_q <= '0;
      led_q    <= '0;
    end else begin
      beat_q <= beat_q + 1'b1;
      if (rx_strobe) begin
        rx_led_q <= '1;
      end else if (rx_led_q != '0) begin
        rx_led_q <= rx_led_q - 1'b1;
      end
      if (tx_busy) begin
        tx_led_q <= '1;
      end else if (tx_led_q != '0) begin
        tx_led_q <= tx_led_q - 1'b1;
      end
      led_q <= {irq, tx_led_q != '0, rx_led_q != '0, link_err, error, done, busy,
                beat_q[HeartbeatLog2-1]};
    end
  end

  assign led_o = led_q;

endmodule : vc707_top

`default_nettype wire
